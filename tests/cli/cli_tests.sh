#!/usr/bin/env bash
# cli_tests.sh CLI SOURCE_DIR — runs attnscope-cli as a user would and checks what comes out.
set -u
cli=$1; src=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; passes=0
ok()   { passes=$((passes+1)); echo "ok   $1"; }
bad()  { fails=$((fails+1)); echo "FAIL $1"; }
json_ok() { python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$1" 2>/dev/null; }

# expect_exit CODE NAME -- CMD...: runs CMD, checks exit code, keeps stderr in $tmp/err
expect_exit() {
  local code=$1 name=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  if [[ $rc -eq $code ]]; then ok "$name (exit $rc)"; else bad "$name: exit $rc, expected $code; stderr: $(head -c 300 "$tmp/err")"; fi
}
stderr_has() { grep -q -- "$2" "$tmp/err" && ok "$1" || bad "$1: stderr lacks '$2': $(head -c 300 "$tmp/err")"; }
one_line() { [[ $(wc -l <"$tmp/err") -le 1 ]] && ok "$1: one-line message" || bad "$1: message has $(wc -l <"$tmp/err") lines"; }

model=stories260K.gguf
ref=${ATTNSCOPE_REFERENCE:-$src/../shared/reference}/stories260K/story4-sink-parallel.json
python3 - "$ref" "$tmp/ctx.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["context"]
json.dump({"prefix": c["prefix"], "chunks": c["chunks"], "query": c["query"]}, open(sys.argv[2], "w"))
PY

# --- info / tokenize
expect_exit 0 "info" -- "$cli" info $model
grep -q '"layers": 5' "$tmp/out" && ok "info shows 5 layers" || bad "info output: $(head -c 300 "$tmp/out")"
expect_exit 0 "tokenize with a bare tokenizer.model" -- "$cli" tokenize --model tok512.model --text "Once upon a time, there was a little girl named Lily."
grep -q '"ids":\[403,407,261,378,432,383,286,261,376,298,315,421,395,317,426\]' "$tmp/out" && ok "tokenize ids" || bad "tokenize ids: $(cat "$tmp/out")"
expect_exit 0 "tokenize through the GGUF vocabulary" -- "$cli" tokenize --model $model --text "Once upon a time"
grep -q '"ids":\[403,407,261,378\]' "$tmp/out" && ok "GGUF vocabulary ids" || bad "GGUF ids: $(cat "$tmp/out")"

# --- analyze
expect_exit 0 "analyze" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --out "$tmp/a.json"
if json_ok "$tmp/a.json"; then ok "analyze writes valid JSON"; else bad "analyze JSON invalid"; fi
python3 - "$tmp/a.json" "$ref" <<'PY' && ok "analyze output agrees with the reference" || bad "analyze output differs from the reference"
import json, sys
a = json.load(open(sys.argv[1])); e = json.load(open(sys.argv[2]))["expected"]
need = ["positions", "tokens", "query_entropy", "query_nll_next", "query_argmax_next", "layer_entropy",
        "mean_entropy", "perplexity", "context_entropy", "chunk_mass"]
assert all(k in a for k in need), [k for k in need if k not in a]
assert a["positions"] == e["positions"]
assert a["query_argmax_next"] == e["query_argmax_next"]
err = max(abs(x - y) for L1, L2 in zip(a["query_entropy"], e["query_entropy"]) for h1, h2 in zip(L1, L2) for x, y in zip(h1, h2))
assert err < 1e-3, err
assert a["query_nll_next"][-1] is None
assert len(a["context_entropy"][0]) == len(a["positions"])
assert len(a["chunk_mass"][0][0][0]) == 4
PY
expect_exit 0 "analyze full + entropy CSV" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --mode full --out "$tmp/full.json" --entropy-csv "$tmp/e.csv"
[[ $(head -1 "$tmp/e.csv") == "layer,head,token,segment,chunk,position,entropy" ]] && ok "entropy CSV header" || bad "entropy CSV header"
expect_exit 0 "analyze selective heads-queries" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --select 2 --select-aggregate heads-queries --out "$tmp/s.json"
# --method is the same rule as the toggles: "both" equals --sink on --select 2.
expect_exit 0 "analyze --method both" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --method both --out "$tmp/m.json"
expect_exit 0 "analyze --sink on --select 2" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --sink on --select 2 --out "$tmp/t.json"
python3 - "$tmp/m.json" "$tmp/t.json" <<'PY' && ok "--method both equals the toggles" || bad "--method both differs from --sink on --select 2"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["query_entropy"] == b["query_entropy"] and a["selected_chunks"] == b["selected_chunks"]
PY
expect_exit 2 "--method with --mode" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --method sink --mode full
expect_exit 2 "unknown method" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --method sideways
stderr_has "unknown method names the choices" "expected full, parallel, sink, selective or both"

# --- sweep
printf 'Once upon a time, there was a little girl named Lily. %.0s' $(seq 30) > "$tmp/story.txt"
expect_exit 0 "sweep" -- "$cli" sweep --model $model --text "$src/resources/examples/lily_story.txt" --query-tokens 32 --parts 1,2,4 --out "$tmp/sweep.json"
python3 - "$tmp/sweep.json" <<'PY' && ok "sweep JSON has 15 rows" || bad "sweep JSON"
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
assert len(rows) == 15 and {r["method"] for r in rows} == {"full", "parallel", "sink", "selective", "both"}
assert all(r["window_rule"] == "physical" for r in rows)
PY
expect_exit 0 "sweep CSV" -- "$cli" sweep --model $model --text "$src/resources/examples/lily_story.txt" --query-tokens 32 --parts 2 --out "$tmp/sweep.csv"
head -1 "$tmp/sweep.csv" | grep -q '^method,parts' && ok "sweep CSV header" || bad "sweep CSV header"
expect_exit 0 "sweep --window-rule position" -- "$cli" sweep --model $model --text "$src/resources/examples/lily_story.txt" --query-tokens 32 --parts 2 --window-rule position --out "$tmp/sweep-position.csv"
[[ $(tail -n +2 "$tmp/sweep-position.csv" | grep -c ',position$') == 5 ]] && ok "sweep CSV names the window rule" || bad "sweep CSV window rule"
expect_exit 0 "analyze --window-rule position" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --window-rule position --out "$tmp/position.json"
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["options"]["window_rule"] == "position"' "$tmp/position.json" && ok "analysis JSON names the window rule" || bad "analysis JSON window rule"
expect_exit 0 "sweep --methods" -- "$cli" sweep --model $model --text "$src/resources/examples/lily_story.txt" --query-tokens 32 --parts 2,4 --methods full,both --out "$tmp/sweep2.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["rows"]; assert len(r) == 4 and {x["method"] for x in r} == {"full", "both"}' "$tmp/sweep2.json" \
  && ok "sweep --methods runs only those" || bad "sweep --methods"

# --- bad input: exit 2, one line naming the file and reason, no output file left behind
expect_exit 2 "missing model file" -- "$cli" analyze --model "$tmp/nope.gguf" --context "$tmp/ctx.json" --out "$tmp/x.json"
stderr_has "missing model names the file" "nope.gguf"; one_line "missing model"
[[ ! -e "$tmp/x.json" ]] && ok "no partial output" || bad "partial output written"
head -c 1000 "${ATTNSCOPE_MODELS:-$src/../shared/models}/$model" > "$tmp/trunc.gguf"
expect_exit 2 "truncated GGUF" -- "$cli" analyze --model "$tmp/trunc.gguf" --context "$tmp/ctx.json" --out "$tmp/x.json"
stderr_has "truncated GGUF names the file" "trunc.gguf"; one_line "truncated GGUF"
echo '{"chunks": ["a"], "query": ' > "$tmp/bad.json"
expect_exit 2 "malformed context JSON" -- "$cli" analyze --model $model --context "$tmp/bad.json" --out "$tmp/x.json"
stderr_has "malformed JSON names the file" "bad.json"; one_line "malformed JSON"
echo '{"chunks": ["a b c"], "query": ""}' > "$tmp/empty.json"
expect_exit 2 "empty query" -- "$cli" analyze --model $model --context "$tmp/empty.json"
stderr_has "empty query reason" "query is empty"
echo '{"chunk_ids": [[1, 2, 100000]], "query_ids": [5]}' > "$tmp/oov.json"
expect_exit 2 "token id outside the vocabulary" -- "$cli" analyze --model $model --context "$tmp/oov.json"
stderr_has "oov reason" "outside the vocabulary"
expect_exit 2 "unknown option" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --frobnicate 1
expect_exit 2 "bad mode" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --mode sideways
stderr_has "bad mode reason" "sideways"
expect_exit 2 "unknown command" -- "$cli" transmogrify
one_line "unknown command"

# --- help, version, suggestions: every command's --help prints its usage and exits 0
for c in $("$cli" --list-options | awk '$1 == "command" { print $2 }'); do
  expect_exit 0 "$c --help" -- "$cli" $c --help
  grep -q "^usage: attnscope-cli $c" "$tmp/out" && ok "$c --help prints its usage" || bad "$c --help: $(head -c 300 "$tmp/out")"
  for o in $("$cli" --list-options | awk -v c=$c '$1 == "option" && $2 == c { print $3 }'); do
    grep -q -- "  $o\b" "$tmp/out" || bad "$c --help does not list $o"
  done
done
expect_exit 0 "bench --help after other options" -- "$cli" bench --model $model --tokens 64 --help
grep -q "^usage: attnscope-cli bench" "$tmp/out" && ok "bench --help prints the usage" || bad "bench --help"
expect_exit 0 "tokenize a text spelled -h" -- "$cli" tokenize --model tok512.model --text -h
grep -q '"ids"' "$tmp/out" && ok "-h as a value is text, not a help request" || bad "tokenize --text -h: $(head -c 300 "$tmp/out")"
expect_exit 0 "help analyze" -- "$cli" help analyze
grep -q "^usage: attnscope-cli analyze" "$tmp/out" && ok "help analyze prints the usage" || bad "help analyze"
expect_exit 0 "--help" -- "$cli" --help
grep -q "^  sweep --model MODEL --text FILE" "$tmp/out" && ok "--help lists the commands" || bad "--help: $(head -c 300 "$tmp/out")"
expect_exit 2 "no command" -- "$cli"
expect_exit 0 "--version" -- "$cli" --version
grep -qx "attnscope-cli [0-9]*\.[0-9]*\.[0-9]*" "$tmp/out" && ok "--version prints the version" || bad "--version: $(cat "$tmp/out")"
expect_exit 2 "mistyped option" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --selct 2
stderr_has "mistyped option suggests the nearest" "unknown option --selct (did you mean --select?)"; one_line "mistyped option"
expect_exit 2 "mistyped option of another command" -- "$cli" bench --model $model --token 64
stderr_has "bench suggests its own option" "did you mean --tokens?"
expect_exit 2 "option far from every known one" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --frobnicate 1
stderr_has "unknown option named" "unknown option --frobnicate"
grep -q "did you mean" "$tmp/err" && bad "a suggestion for --frobnicate: $(cat "$tmp/err")" || ok "no suggestion for --frobnicate"
expect_exit 2 "mistyped command" -- "$cli" analyse --model $model
stderr_has "mistyped command suggests the nearest" "unknown command 'analyse' (did you mean 'analyze'? try --help)"
expect_exit 2 "missing required option" -- "$cli" sweep --model $model
stderr_has "missing required option named" "missing required option --text"; one_line "missing required option"
expect_exit 2 "option of another command" -- "$cli" info $model --mode full
stderr_has "info does not take --mode" "unknown option --mode"
expect_exit 2 "sweep with too few tokens" -- "$cli" sweep --model $model --text "$tmp/story.txt" --query-tokens 2000 --parts 2
stderr_has "sweep names the text file" "story.txt"
expect_exit 2 "cuda requested without a GPU or plugin" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --device cuda
one_line "cuda unavailable"

# --- bad input found by hand: each exit 2 with one line
one_bad() {  # one_bad NAME REASON -- CMD...: exit 2, one line on stderr, naming REASON
  local name=$1 reason=$2; shift 2
  expect_exit 2 "$name" "$@"; stderr_has "$name reason" "$reason"; one_line "$name"
}
echo '{"chunks": [], "query": "q"}' > "$tmp/nochunks.json"
echo '{"query": "q"}' > "$tmp/nochunkkey.json"
echo '{"chunk_ids": [], "query_ids": [5, 6]}' > "$tmp/noids.json"
for f in nochunks nochunkkey noids; do
  one_bad "context $f" "$f.json: the context has no chunks" -- "$cli" analyze --model $model --context "$tmp/$f.json"
done
echo '{"chunk_ids": [[1.0, 5]], "query_ids": [5]}' > "$tmp/real.json"
one_bad "token id 1.0" "must hold non-negative integer token ids" -- "$cli" analyze --model $model --context "$tmp/real.json"
one_bad "empty context file" "/dev/null: empty file" -- "$cli" analyze --model $model --context /dev/null
one_bad "folder as context" "$tmp: is a directory" -- "$cli" analyze --model $model --context "$tmp"
one_bad "--threads -1" "--threads must be 0" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --threads -1
one_bad "--threads 10000" "is more than the limit" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --threads 10000
one_bad "stray argument" "unexpected argument 'stray'" -- "$cli" analyze --model $model --context "$tmp/ctx.json" stray
for n in 0 -1; do
  one_bad "--select-score-top $n" "--select-score-top must be 1 or more" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --select 2 --select-score-top $n
done
one_bad "--window-rule diagonal" "unknown window rule 'diagonal' (expected physical or position)" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --window-rule diagonal
one_bad "sweep --window-rule diagonal" "unknown window rule 'diagonal'" -- "$cli" sweep --model $model --text "$tmp/story.txt" --window-rule diagonal
expect_exit 0 "--select-score-top mean" -- "$cli" analyze --model $model --context "$tmp/ctx.json" --select 2 --select-score-top mean
one_bad "sweep --sink-tokens -1" "sink token count must be 0 or more" -- "$cli" sweep --model $model --text "$tmp/story.txt" --sink-tokens -1
python3 -c 'import json; print(json.dumps({"chunk_ids": [[7] * 2100], "query_ids": [5, 6]}))' > "$tmp/long.json"
one_bad "context past the context length" "beyond the model's context length of 2048" -- "$cli" analyze --model $model --context "$tmp/long.json" --mode full
python3 -c 'import json; print(json.dumps({"chunks": ["a" * (50 << 20)], "query": "q"}))' > "$tmp/huge.json"
start=$SECONDS
one_bad "50 MB chunk" "more tokens than the model's context length" -- "$cli" analyze --model $model --context "$tmp/huge.json"
(( SECONDS - start < 20 )) && ok "50 MB chunk refused quickly" || bad "50 MB chunk took $((SECONDS - start)) s"
# "auto" without a usable GPU: the note is for --verbose; the run's summary is the only line.
expect_exit 0 "auto device, quiet" -- "$cli" analyze --model $model --context "$tmp/ctx.json"
grep -q "unavailable" "$tmp/err" && bad "the CUDA note was printed without --verbose" || ok "no CUDA note without --verbose"
one_line "auto device, quiet"

# stories260K with one tensor changed: its type tag (F32 → F16), or NaN written in its data.
python3 - "${ATTNSCOPE_MODELS:-$src/../shared/models}/$model" "$tmp" <<'PY'
import struct, sys
src, out = sys.argv[1], sys.argv[2]
b = bytearray(open(src, "rb").read())
pos = 8
def u(fmt):
    global pos
    v = struct.unpack_from(fmt, b, pos)[0]; pos += struct.calcsize(fmt); return v
def string():
    global pos
    n = u("<Q"); s = bytes(b[pos:pos + n]); pos += n; return s.decode()
sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
def value(t):
    global pos
    if t == 8: string()
    elif t == 9:
        et, n = u("<I"), u("<Q")
        for _ in range(n): value(et)
    else: pos += sizes[t]
nt, nkv = u("<Q"), u("<Q")
for _ in range(nkv):
    string(); value(u("<I"))
infos = {}
for _ in range(nt):
    name = string(); nd = u("<I"); pos += 8 * nd
    infos[name] = (pos, u("<I"), u("<Q"))
data = (pos + 31) // 32 * 32
at, typ, off = infos["blk.2.attn_q.weight"]
assert typ == 0
tag = bytearray(b); struct.pack_into("<I", tag, at, 1)
open(out + "/tag.gguf", "wb").write(tag)
nan = bytearray(b)
for i in range(16): struct.pack_into("<f", nan, data + off + 4 * i, float("nan"))
open(out + "/nan.gguf", "wb").write(nan)
PY
one_bad "wrong type tag" "tensor 'blk.2.attn_q.weight' is tagged F16" -- "$cli" analyze --model "$tmp/tag.gguf" --context "$tmp/ctx.json"
one_bad "NaN in the weights" "layer 2 of 5: the attention entropy is NaN" -- "$cli" analyze --model "$tmp/nan.gguf" --context "$tmp/ctx.json" --out "$tmp/nan.json"
[[ ! -e "$tmp/nan.json" ]] && ok "no output for a non-finite run" || bad "a non-finite run wrote its output"

# --- generate: the answer under each method, per-token statistics, SubEM against "answer"
python3 - "$tmp/ctx.json" "$tmp/qa.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["answer"] = ["Lily", "nobody"]
json.dump(c, open(sys.argv[2], "w"))
PY
expect_exit 0 "generate --methods" -- "$cli" generate --model $model --context "$tmp/qa.json" --methods full,sink,both --select-aggregate heads-queries --window-rule position --max-new-tokens 8 --out "$tmp/g.json"
python3 - "$tmp/g.json" <<'PY' && ok "generate JSON: one run per method, every field" || bad "generate JSON: $(head -c 300 "$tmp/g.json")"
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert [r["method"] for r in runs] == ["full", "sink", "both"]
assert all(r["options"]["window_rule"] == "position" for r in runs)
assert [r["options"]["mode"] for r in runs] == ["full", "parallel", "parallel"]
for r in runs:
    assert isinstance(r["correct"], bool) and 1 <= len(r["generated_ids"]) <= 8, r
    t = r["tokens"][0]
    assert t["id"] == r["generated_ids"][0] and t["top"][0]["id"] == t["id"] and len(t["top"]) == 5
    assert t["logprob"] <= 0 and len(t["layer_entropy"]) == 5 and len(t["selected_chunks"]) == 5
    assert len(t["chunk_mass"][0]) == 4 and abs(t["entropy"] - sum(t["layer_entropy"]) / 5) < 1e-5
assert all(len(s) == 2 for s in runs[2]["tokens"][0]["selected_chunks"])  # both: K = 2 of 4, one set per layer
PY
# The entropy of a generated token equals analyze's when the generated ids follow the query.
expect_exit 0 "generate --method sink" -- "$cli" generate --model $model --context "$tmp/ctx.json" --method sink --max-new-tokens 6 --out "$tmp/g1.json"
"$cli" tokenize --model $model --text "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["query"], end="")' "$tmp/ctx.json")" --out "$tmp/qids.json"
python3 - "$tmp/ctx.json" "$tmp/qids.json" "$tmp/g1.json" "$tmp/ctx2.json" <<'PY'
import json, sys
c, q, g = (json.load(open(p)) for p in sys.argv[1:4])
c["query_ids"] = q["ids"] + g["generated_ids"]
json.dump(c, open(sys.argv[4], "w"))
PY
expect_exit 0 "analyze the query plus the generated ids" -- "$cli" analyze --model $model --context "$tmp/ctx2.json" --method sink --out "$tmp/a2.json"
python3 - "$tmp/g1.json" "$tmp/a2.json" "$tmp/qids.json" <<'PY' && ok "generated tokens' entropy equals analyze's" || bad "generated entropy differs from analyze"
import json, sys
g, a, q = (json.load(open(p)) for p in sys.argv[1:4])
Q = len(q["ids"]); qe = a["query_entropy"]  # [layer][head][q]
for t, tok in enumerate(g["tokens"]):
    for l, le in enumerate(tok["layer_entropy"]):
        heads = [qe[l][h][Q + t] for h in range(len(qe[l]))]
        assert abs(le - sum(heads) / len(heads)) < 1e-4, (t, l, le)
    assert a["query_argmax_next"][Q + t - 1] == tok["id"]
PY
expect_exit 0 "seeded sampling" -- "$cli" generate --model $model --context "$tmp/ctx.json" --temperature 1.5 --top-k 20 --top-p 0.9 --seed 7 --out "$tmp/s1.json"
expect_exit 0 "seeded sampling again" -- "$cli" generate --model $model --context "$tmp/ctx.json" --temperature 1.5 --top-k 20 --top-p 0.9 --seed 7 --out "$tmp/s2.json"
python3 -c 'import json,sys; a,b=(json.load(open(p))["generated_ids"] for p in sys.argv[1:3]); assert a == b' "$tmp/s1.json" "$tmp/s2.json" \
  && ok "the same seed gives the same tokens" || bad "seeded sampling is not reproducible"
stop=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["text"]; print(t[3:6], end="")' "$tmp/g1.json")
expect_exit 0 "generate --stop" -- "$cli" generate --model $model --context "$tmp/ctx.json" --method sink --max-new-tokens 6 --stop "$stop" --stop zzz --out "$tmp/g2.json"
python3 - "$tmp/g2.json" "$stop" <<'PY' && ok "a stop string ends the text before it" || bad "stop string: $(head -c 300 "$tmp/g2.json")"
import json, sys
g = json.load(open(sys.argv[1]))
assert g["stop_reason"] == "stop-string" and g["stop_string"] == sys.argv[2] and sys.argv[2] not in g["text"]
PY
gen_bad() { one_bad "generate $1" "$2" -- "$cli" generate --model $model --context "$tmp/ctx.json" "${@:3}"; }
gen_bad "--max-new-tokens 0" "max-new-tokens must be between 1" --max-new-tokens 0
gen_bad "--temperature -1" "temperature must be 0" --temperature -1
gen_bad "--temperature x" "--temperature expects a number" --temperature x
gen_bad "--top-p 2" "top-p must lie in (0, 1]" --top-p 2
gen_bad "--methods twice" "--methods names 'full' twice" --methods full,full
gen_bad "--methods with --method" "--methods replaces --method" --methods full --method sink
gen_bad "--methods unknown" "expected full, parallel, sink, selective or both" --methods full,sideways
gen_bad "--stop ''" "a stop string must not be empty" --stop ""
echo '{"chunks": ["a b"], "query": "q", "answer": 5}' > "$tmp/badanswer.json"
one_bad "answer not a string" "badanswer.json: 'answer' must be a string or an array of strings" -- "$cli" generate --model $model --context "$tmp/badanswer.json"

echo "$passes passed, $fails failed"
[[ $fails -eq 0 ]]

"""In-process circom witnesses (`supervm_jax.privacy.witness`) against snarkjs, Python arithmetic and
the R1CS.

Without Node the multiplier fixture (committed wasm) and a hand-written fake circom module cover the
protocol; the snarkjs comparisons and the merkle_membership / poseidon_chain circuits (compiled here
with the pinned circom2) skip, or fail under SUPERVM_REQUIRE_NODE=1.
"""

import json
import os
import subprocess
import threading

import numpy as np
import pytest
import wasmtime
from hypothesis import given
from hypothesis import strategies as st

from supervm_jax.field.limbs import ints_from_limbs
from supervm_jax.groth16.r1cs import read_r1cs
from supervm_jax.groth16.wtns import Witness, encode_wtns, read_wtns
from supervm_jax.privacy.witness import WitnessCalculator, WitnessError, fnv1a64
from tests.groth16.conftest import (
    NODE_PACKAGE,
    fixture,
    fixture_json,
    snarkjs,
    snarkjs_available,
)

BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
REPO = NODE_PACKAGE.parents[1]
CIRCOM2_CLI = NODE_PACKAGE / "node_modules" / "circom2" / "cli.js"
COMPILED = ("merkle_membership", "poseidon_chain")


def circom2_available() -> None:
    """Skips without node / circom2; fails instead under SUPERVM_REQUIRE_NODE=1 (the groth16 rule)."""
    snarkjs_available()
    if not CIRCOM2_CLI.exists():
        if os.environ.get("SUPERVM_REQUIRE_NODE") == "1":
            pytest.fail(f"SUPERVM_REQUIRE_NODE=1 but {CIRCOM2_CLI} is missing (npm ci --prefix {NODE_PACKAGE})")
        pytest.skip("circom2 not installed (npm ci --prefix tools/groth16_fixtures)")


@pytest.fixture(scope="module")
def multiplier() -> WitnessCalculator:
    return WitnessCalculator(fixture("multiplier", "circuit.wasm"))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, WitnessCalculator]:
    """merkle_membership and poseidon_chain compiled by circom2 (both at once), as calculators."""
    circom2_available()
    out = tmp_path_factory.mktemp("circom")
    procs = {name: subprocess.Popen(
        ["node", str(CIRCOM2_CLI), f"tools/groth16_fixtures/circuits/{name}.circom", "--O2", "--wasm",
         "-l", "tools/groth16_fixtures/node_modules", "-o", str(out)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for name in COMPILED}
    calcs = {}
    for name, proc in procs.items():
        log, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"circom2 {name}: {log}"
        calcs[name] = WitnessCalculator(out / f"{name}_js" / f"{name}.wasm")
    return calcs


def snarkjs_wtns(wasm, inputs: dict, tmp_path) -> bytes:
    """`snarkjs wtns calculate` of `inputs` (written as input.json)."""
    snarkjs_available()
    inp, out = tmp_path / "input.json", tmp_path / "witness.wtns"
    inp.write_text(json.dumps(inputs))
    run = snarkjs("wtns", "calculate", str(wasm), str(inp), str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    return out.read_bytes()


def r1cs_unsatisfied(r1cs, values: list[int]) -> list[int]:
    """The constraints i with <A_i, w> <B_i, w> != <C_i, w> (mod r), in Python ints."""
    sums = []
    for m in (r1cs.a, r1cs.b, r1cs.c):
        acc = [0] * r1cs.n_constraints
        for row, col, coef in zip(m.row.tolist(), m.col.tolist(), ints_from_limbs(m.value)):
            acc[row] += coef * values[col]
        sums.append(acc)
    return [i for i, (a, b, c) in enumerate(zip(*sums)) if (a * b - c) % r1cs.prime]


# -- the multiplier fixture (no Node needed) -------------------------------------------------------

def test_multiplier_header(multiplier):
    assert multiplier.prime == BN254_R and multiplier.n32 == 8
    assert multiplier.n_vars == read_r1cs(fixture("multiplier", "circuit.r1cs")).n_wires == 5
    assert multiplier.n_inputs == 2 and multiplier.version[0] == 2


def test_multiplier_fixture_witnesses(multiplier):
    """The committed fixtures' witnesses were written by `snarkjs wtns calculate`."""
    for k in range(3):
        wtns = fixture("multiplier", f"witness_{k}.wtns").read_bytes()
        assert multiplier.calculate_wtns(fixture_json("multiplier", f"input_{k}.json")) == wtns


def multiplier_wires(a: int, b: int) -> list[int]:
    """multiplier.circom: c = a b, d = c a; wires 1, c, d (outputs), a, b (private inputs)."""
    a, b = a % BN254_R, b % BN254_R
    return [1, a * b % BN254_R, a * a * b % BN254_R, a, b]


field_ints = st.one_of(st.integers(-2**300, 2**300), st.sampled_from([0, 1, -1, BN254_R - 1, BN254_R, BN254_R + 1, -BN254_R]))


@given(a=field_ints, b=field_ints, as_str=st.booleans())
def test_multiplier_random_inputs(multiplier, a, b, as_str):
    inputs = {"a": str(a), "b": str(b)} if as_str else {"a": a, "b": b}
    w = multiplier.calculate(inputs)
    assert w.limbs.shape == (5, 8) and w.limbs.dtype == np.uint32 and w.prime == BN254_R
    assert w.values() == multiplier_wires(a, b)


def test_multiplier_satisfies_r1cs(multiplier):
    r1cs = read_r1cs(fixture("multiplier", "circuit.r1cs"))
    for a, b in [(3, 11), (-5, 2**255), (0, 7)]:
        values = multiplier.calculate({"a": a, "b": b}).values()
        assert r1cs_unsatisfied(r1cs, values) == []
        values[2] = (values[2] + 1) % BN254_R  # the check itself can fail
        assert r1cs_unsatisfied(r1cs, values) != []


def test_input_forms(multiplier):
    """ints, decimal / hex strings, numpy ints, one-element lists: all the same witness."""
    expected = multiplier_wires(6, 7)
    for inputs in ({"a": 6, "b": 7}, {"a": "6", "b": "0x7"}, {"a": np.int64(6), "b": np.uint8(7)},
                   {"a": [6], "b": (7,)}, {"a": np.array([6]), "b": [[7]]}):
        assert multiplier.calculate(inputs).values() == expected


def test_nested_lists_flatten_row_major():
    """[[1, 2], [3, 4]] sets m[0][0], m[0][1], m[1][0], m[1][1]: circom's (and snarkjs's) order."""
    from supervm_jax.privacy.witness import _parse_inputs

    [(name, hi, lo, values)] = _parse_inputs({"m": [[1, 2], (3, np.array([4, -1]))]}, 7)
    assert (name, hi << 32 | lo, values) == ("m", fnv1a64("m"), [1, 2, 3, 4, 6])


@pytest.mark.parametrize("inputs, match", [
    ({"a": 3}, r"missing input signals: the circuit takes 2 input values, the inputs give 1"),
    ({"a": 3, "b": 4, "zzz": 1}, r"'zzz' is not an input signal of the circuit"),
    ({"a": [3, 4], "b": 1}, r"input signal 'a' takes 1 value, got 2"),
    ({"a": [], "b": 1}, r"input signal 'a' takes 1 value, got 0"),
    ({"a": 3.0, "b": 1}, r"input signal 'a' value 0: 3.0 is not an integer"),
    ({"a": 3, "b": "1.5"}, r"input signal 'b' value 0: '1.5' is not an integer"),
    ({"a": 3, "b": ""}, r"input signal 'b' value 0: '' is not an integer"),
    ({"a": True, "b": 1}, r"input signal 'a' value 0: True is not an integer"),
    ({"a": None, "b": 1}, r"input signal 'a' value 0: None is not an integer"),
    ({"a": 1, 2: 1}, r"input signal name 2 is not a string"),
    ([("a", 1)], r"inputs must be a mapping"),
])
def test_bad_inputs(multiplier, inputs, match):
    with pytest.raises(WitnessError, match=match):
        multiplier.calculate(inputs)
    assert multiplier.calculate({"a": 2, "b": 3}).values() == multiplier_wires(2, 3)  # still usable


def test_fnv1a64():
    """The 64-bit FNV-1a reference values, and circom_runtime's fnvHash of "a" (0xaf63dc4c8601ec8c)."""
    assert fnv1a64("") == 0xCBF29CE484222325
    assert fnv1a64("a") == 0xAF63DC4C8601EC8C
    assert fnv1a64("foobar") == 0x85944171F73967E8


def test_batch_equals_single(multiplier):
    inputs = [{"a": k, "b": -3 * k + 1} for k in range(12)]
    expected = [multiplier.calculate(i).values() for i in inputs]
    for workers in (1, 2, None):
        got = multiplier.calculate_batch(inputs, max_workers=workers)
        assert [w.values() for w in got] == expected and all(isinstance(w, Witness) for w in got)
    assert multiplier.calculate_batch([]) == []


def test_batch_names_bad_index(multiplier):
    inputs = [{"a": k, "b": k} for k in range(8)]
    inputs[5] = {"a": 1}
    for workers in (1, 2):
        with pytest.raises(WitnessError, match=r"^input 5: missing input signals"):
            multiplier.calculate_batch(inputs, max_workers=workers)
    with pytest.raises(ValueError, match="max_workers"):
        multiplier.calculate_batch(inputs, max_workers=0)


def test_threads_share_a_calculator(multiplier):
    results, errors = {}, []

    def work(t):
        try:
            results[t] = [multiplier.calculate({"a": t, "b": k}).values() for k in range(50)]
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert all(results[t] == [multiplier_wires(t, k) for k in range(50)] for t in range(4))


def test_helper_and_python_loops_agree():
    """Without the helper module (wires and inputs one wasm call at a time) the bytes are the same."""
    calc = WitnessCalculator(fixture("multiplier", "circuit.wasm").read_bytes())
    assert calc._helper is not None
    inputs = fixture_json("multiplier", "input_1.json")
    fast = calc.calculate_wtns(inputs)
    calc._helper, calc._local.session = None, None
    assert calc.calculate_wtns(inputs) == fast == fixture("multiplier", "witness_1.wtns").read_bytes()


def test_instance_reuse_keeps_memory_size(multiplier):
    multiplier.calculate({"a": 1, "b": 1})
    session = multiplier._local.session
    size = session.memory.size(session.store)
    for k in range(200):
        multiplier.calculate({"a": k, "b": k + 1})
    assert multiplier._local.session is session and session.memory.size(session.store) == size


# -- a hand-written module speaking the circom 2 API (no Node needed) -------------------------------

FAKE_PRIME = 2**31 - 1


def fake_circom(version: int = 2, drop_export: str | None = None, extra_import: str = "") -> bytes:
    """One input "x" (n32 = 1, p = 2^31 - 1); wires [1, x + 1]. x = 0: circom's assertion sequence
    (printErrorMessage, then exceptionHandler(4), then it carries on, as circom's code does);
    x = 6: a wasm trap; x = 5: circom log() output."""
    h = fnv1a64("x")
    exports = {
        "getVersion": f"(func (export \"getVersion\") (result i32) (i32.const {version}))",
        "getWitness": """(func (export "getWitness") (param $i i32)
            (i32.store (i32.const 0) (select (i32.add (i32.load (i32.const 32)) (i32.const 1)) (i32.const 1) (local.get $i))))""",
    }
    if drop_export:
        exports.pop(drop_export)
    wat = f"""(module
      (import "runtime" "exceptionHandler" (func $eh (param i32)))
      (import "runtime" "printErrorMessage" (func $pem))
      (import "runtime" "writeBufferMessage" (func $wbm))
      (import "runtime" "showSharedRWMemory" (func $srm))
      {extra_import}
      (memory (export "memory") 1)
      (data (i32.const 64) "Error in template Fake_0 line: 7\\00")
      (data (i32.const 128) "x is\\00")
      (data (i32.const 160) "\\n\\00")
      (global $msg (mut i32) (i32.const 0))
      {" ".join(exports.values())}
      (func (export "getMinorVersion") (result i32) (i32.const 2))
      (func (export "getFieldNumLen32") (result i32) (i32.const 1))
      (func (export "getSharedRWMemoryStart") (result i32) (i32.const 0))
      (func (export "readSharedRWMemory") (param i32) (result i32) (i32.load (i32.shl (local.get 0) (i32.const 2))))
      (func (export "writeSharedRWMemory") (param i32 i32) (i32.store (i32.shl (local.get 0) (i32.const 2)) (local.get 1)))
      (func (export "getRawPrime") (i32.store (i32.const 0) (i32.const {FAKE_PRIME})))
      (func (export "init") (param i32))
      (func (export "getInputSize") (result i32) (i32.const 1))
      (func (export "getWitnessSize") (result i32) (i32.const 2))
      (func (export "getInputSignalSize") (param $hi i32) (param $lo i32) (result i32)
        (i32.and (i32.eq (local.get $hi) (i32.const {h >> 32})) (i32.eq (local.get $lo) (i32.const {h & 0xFFFFFFFF}))))
      (func (export "getMessageChar") (result i32) (local $c i32)
        (local.set $c (i32.load8_u (global.get $msg)))
        (if (local.get $c) (then (global.set $msg (i32.add (global.get $msg) (i32.const 1)))))
        (local.get $c))
      (func (export "setInputSignal") (param i32 i32 i32)
        (i32.store (i32.const 32) (i32.load (i32.const 0)))
        (if (i32.eqz (i32.load (i32.const 32)))
          (then (global.set $msg (i32.const 64)) (call $pem) (call $eh (i32.const 4))))
        (if (i32.eq (i32.load (i32.const 32)) (i32.const 5))
          (then (global.set $msg (i32.const 128)) (call $wbm) (call $srm) (global.set $msg (i32.const 160)) (call $wbm)))
        (if (i32.eq (i32.load (i32.const 32)) (i32.const 6)) (then unreachable))))"""
    return wasmtime.wat2wasm(wat)


@pytest.fixture(scope="module")
def fake() -> WitnessCalculator:
    return WitnessCalculator(fake_circom())


def test_fake_module_protocol(fake, caplog):
    assert (fake.prime, fake.n32, fake.n_vars, fake.version) == (FAKE_PRIME, 1, 2, (2, 2, 0))
    assert fake.calculate({"x": 41}).values() == [1, 42]
    assert fake.calculate({"x": -FAKE_PRIME - 2}).values() == [1, FAKE_PRIME - 1]
    with caplog.at_level("INFO", logger="supervm_jax.privacy.witness"):
        assert fake.calculate({"x": 5}).values() == [1, 6]
    assert "log: x is 5" in caplog.text


def test_assertion_failure_names_template_and_line(fake):
    with pytest.raises(WitnessError, match=r"circuit assertion failed: Error in template Fake_0 line: 7"):
        fake.calculate({"x": 0})
    with pytest.raises(WitnessError, match=r"the witness calculator trapped"):
        fake.calculate({"x": 6})
    assert fake.calculate({"x": 1}).values() == [1, 2]  # a fresh instance after each failure


def test_concurrent_failures_keep_their_own_messages(fake):
    """Assertion failures, traps and successes at once on four threads: each call reports its own
    outcome (wasmtime-py passes host exceptions through one process-wide slot)."""
    outcomes = {0: "assertion failed", 6: "trapped", 9: None}
    wrong = []

    def work(t):
        for k in range(60):
            x = (0, 6, 9)[(t + k) % 3]
            try:
                got = fake.calculate({"x": x}).values()
                if outcomes[x] is not None or got != [1, 10]:
                    wrong.append((x, got))
            except WitnessError as e:
                if outcomes[x] is None or outcomes[x] not in str(e):
                    wrong.append((x, str(e)))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert wrong == []


@pytest.mark.parametrize("wasm, match", [
    (b"garbage", r"<wasm bytes>: not a WebAssembly module"),
    (b"\0asm\x01\0\0\0garbage", r"not a valid WebAssembly module"),
    (wasmtime.wat2wasm('(module (func (export "main")))'), r"not a circom 2 witness calculator: missing exports getVersion"),
    (fake_circom(drop_export="getWitness"), r"missing exports getWitness$"),
    (fake_circom(version=1), r"API version 1 is not supported"),
    (fake_circom(extra_import='(import "env" "foo" (func))'), r"imports env.foo"),
])
def test_not_a_circom_wasm(wasm, match):
    with pytest.raises(ValueError, match=match):
        WitnessCalculator(wasm)


def test_not_a_circom_wasm_file_is_named(tmp_path):
    path = tmp_path / "fake.wasm"
    path.write_bytes(b"not wasm")
    with pytest.raises(ValueError, match=f"{path}: not a WebAssembly module"):
        WitnessCalculator(path)


# -- against snarkjs (Node) ---------------------------------------------------------------------------

def test_multiplier_matches_snarkjs(multiplier, tmp_path):
    inputs = {"a": "7", "b": "13"}
    assert multiplier.calculate_wtns(inputs) == snarkjs_wtns(fixture("multiplier", "circuit.wasm"), inputs, tmp_path)


def test_negative_and_large_values_reduced_like_snarkjs(multiplier, tmp_path):
    inputs = {"a": "-3", "b": str(5 * BN254_R + 12345)}
    ours = multiplier.calculate_wtns(inputs)
    assert ours == snarkjs_wtns(fixture("multiplier", "circuit.wasm"), inputs, tmp_path)
    assert read_wtns(ours).values() == multiplier_wires(-3, 12345)


@pytest.mark.parametrize("circuit", COMPILED)
def test_compiled_circuits_match_snarkjs(compiled, circuit, tmp_path):
    calc = compiled[circuit]
    r1cs = read_r1cs(fixture(circuit, "circuit.r1cs"))
    assert calc.n_vars == r1cs.n_wires and calc.prime == r1cs.prime
    wasm = calc.name
    for k in range(3):
        inputs = fixture_json(circuit, f"input_{k}.json")
        ours = calc.calculate_wtns(inputs)
        assert ours == fixture(circuit, f"witness_{k}.wtns").read_bytes()
        if k == 0:
            assert ours == snarkjs_wtns(wasm, inputs, tmp_path)
        assert r1cs_unsatisfied(r1cs, read_wtns(ours).values()) == []


def test_merkle_assertions(compiled):
    calc = compiled["merkle_membership"]
    good = fixture_json("merkle_membership", "input_0.json")
    with pytest.raises(WitnessError, match=r"circuit assertion failed: Error in template MerkleMembership_\d+ line: 22"):
        calc.calculate({**good, "pathIndices": [0, 2, 0, 0]})  # pathIndices[i] * (pathIndices[i] - 1) === 0
    with pytest.raises(WitnessError, match=r"circuit assertion failed: Error in template MerkleMembership_\d+ line: 34"):
        calc.calculate({**good, "root": 5})  # root === node[D]
    with pytest.raises(WitnessError, match=r"input signal 'pathElements' takes 4 values, got 3"):
        calc.calculate({**good, "pathElements": good["pathElements"][:3]})
    assert calc.calculate_wtns(good) == fixture("merkle_membership", "witness_0.wtns").read_bytes()


def test_merkle_batch_on_threads(compiled):
    calc = compiled["merkle_membership"]
    inputs = [fixture_json("merkle_membership", f"input_{k % 3}.json") for k in range(9)]
    expected = [fixture("merkle_membership", f"witness_{k % 3}.wtns").read_bytes() for k in range(9)]
    got = calc.calculate_batch(inputs, max_workers=2)
    assert [encode_wtns(w) for w in got] == expected
    inputs[4] = {**inputs[4], "root": 1}
    with pytest.raises(WitnessError, match=r"^input 4: .*circuit assertion failed"):
        calc.calculate_batch(inputs, max_workers=2)


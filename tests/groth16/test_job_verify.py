"""`python -m supervm_jax.jobs.verify` end to end, in a subprocess as a user runs it: one JSON line per
proof and a summary; exit 0 when every proof is valid, 1 when one is not, 2 for malformed input with
a message naming the file."""

import json
import os
import shutil
import subprocess
import sys

from tests.groth16.conftest import fixture, fixture_json

D = "multiplier"
VK = fixture(D, "verification_key.json")


def run_job(*args):
    """The job with the suite's persistent compilation cache (its default: the inherited
    JAX_COMPILATION_CACHE_DIR), so the second run reuses the first one's programs."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    return subprocess.run([sys.executable, "-m", "supervm_jax.jobs.verify", *args], capture_output=True, text=True,
                          env=env, timeout=900)


def lines(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.strip().splitlines()]


def test_directory_with_an_invalid_proof_exits_1_and_single_valid_proof_exits_0(tmp_path):
    for k in range(2):
        shutil.copy(fixture(D, f"proof_{k}.json"), tmp_path / f"p{k}.proof.json")
        shutil.copy(fixture(D, f"public_{k}.json"), tmp_path / f"p{k}.public.json")
    shutil.copy(fixture(D, "proof_2.json"), tmp_path / "bad.proof.json")
    shutil.copy(fixture(D, "public_0.json"), tmp_path / "bad.public.json")  # another statement
    proc = run_job(f"--vk={VK}", f"--proof_dir={tmp_path}")
    assert proc.returncode == 1, proc.stderr
    out = lines(proc)
    assert out[:3] == [{"proof": "bad", "valid": False}, {"proof": "p0", "valid": True}, {"proof": "p1", "valid": True}]
    summary = {k: out[3][k] for k in ("proofs", "valid", "invalid", "curve")}
    assert summary == {"proofs": 3, "valid": 2, "invalid": 1, "curve": "bn128"}
    assert len(out) == 4

    proof = str(fixture(D, "proof_1.json"))
    proc = run_job(f"--vk={VK}", f"--proof={proof}", f"--public={fixture(D, 'public_1.json')}")
    assert proc.returncode == 0, proc.stderr
    assert lines(proc)[0] == {"proof": proof, "valid": True} and lines(proc)[1]["valid"] == 1


def test_malformed_input_exits_2_naming_the_file(tmp_path):
    shutil.copy(fixture(D, "proof_0.json"), tmp_path / "a.proof.json")
    proc = run_job(f"--vk={VK}", f"--proof_dir={tmp_path}")
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"error: {tmp_path / 'a.proof.json'}: no public signals file a.public.json" in proc.stderr

    shutil.copy(fixture(D, "public_0.json"), tmp_path / "a.public.json")
    broken = {k: v for k, v in fixture_json(D, "proof_0.json").items() if k != "pi_c"}
    (tmp_path / "b.proof.json").write_text(json.dumps(broken))
    shutil.copy(fixture(D, "public_0.json"), tmp_path / "b.public.json")
    proc = run_job(f"--vk={VK}", f"--proof_dir={tmp_path}")
    assert proc.returncode == 2 and f"error: {tmp_path / 'b.proof.json'}: proof: missing pi_c" in proc.stderr

    (tmp_path / "b.proof.json").unlink()
    (tmp_path / "b.public.json").unlink()
    vk = fixture_json(D, "verification_key.json")
    vk["vk_delta_2"] = vk["vk_gamma_2"]
    (tmp_path / "weak_vk.json").write_text(json.dumps(vk))
    proc = run_job(f"--vk={tmp_path / 'weak_vk.json'}", f"--proof_dir={tmp_path}")
    assert proc.returncode == 2
    assert f"error: {tmp_path / 'weak_vk.json'}: verification key: vk_gamma_2 == vk_delta_2" in proc.stderr

    proc = run_job(f"--proof_dir={tmp_path}")
    assert proc.returncode == 2 and "--vk is required" in proc.stderr

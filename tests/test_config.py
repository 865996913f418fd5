"""Configuration precedence (defaults < TOML < environment < overrides) and error messages."""

import pytest

from supervm_jax.config import ENV_NAMES, ConfigError, load_config


def write(tmp_path, text):
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def test_defaults():
    cfg = load_config(environ={})
    assert cfg.mvcc.shard_count == 256
    assert cfg.parallel.num_workers >= 1
    assert cfg.devices.count == 0


def test_precedence(tmp_path):
    path = write(tmp_path, "[mvcc]\nshard_count = 512\ngc_threads = 3\n[parallel]\nnum_workers = 2\n")
    cfg = load_config(path, environ={})
    assert (cfg.mvcc.shard_count, cfg.mvcc.gc_threads, cfg.parallel.num_workers) == (512, 3, 2)
    cfg = load_config(path, environ={"SUPERVM_MVCC_SHARDS": "1024", "SUPERVM_NUM_THREADS": "6"})
    assert (cfg.mvcc.shard_count, cfg.mvcc.gc_threads, cfg.parallel.num_workers) == (1024, 3, 6)
    cfg = load_config(path, environ={"SUPERVM_MVCC_SHARDS": "1024"}, overrides={"mvcc.shard_count": "4096"})
    assert cfg.mvcc.shard_count == 4096


def test_environment_names_follow_sections():
    assert ENV_NAMES["parallel.num_workers"] == "SUPERVM_NUM_THREADS"
    assert ENV_NAMES["mvcc.shard_count"] == "SUPERVM_MVCC_SHARDS"


@pytest.mark.parametrize(
    "text, match",
    [
        ("[mvcc]\nshards = 4\n", "unknown config key 'mvcc.shards'"),
        ("[gpu]\ncount = 1\n", "unknown config key 'gpu.count'"),
        ("[mvcc]\nshard_count = 1000\n", "mvcc.shard_count must be a power of two"),
        ("[mvcc]\nshard_count = 8192\n", "mvcc.shard_count must be a power of two"),
        ("[parallel]\nnum_workers = 0\n", "parallel.num_workers must be >= 1"),
        ("[parallel]\nnum_workers = 'many'\n", "parallel.num_workers .* must be an integer"),
        ("[mvcc]\npath = 3\n", "mvcc.path .* must be a string"),
        ("mvcc = 3\n", "must be a \\[section\\] table"),
        ("[mvcc\n", "config file"),
    ],
)
def test_bad_file_values_name_the_key(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        load_config(write(tmp_path, text), environ={})


def test_bad_environment_value_names_variable():
    with pytest.raises(ConfigError, match="SUPERVM_NUM_THREADS"):
        load_config(environ={"SUPERVM_NUM_THREADS": "two"})


def test_bad_override_names_key():
    with pytest.raises(ConfigError, match="unknown config key 'devices.kind'"):
        load_config(environ={}, overrides={"devices.kind": "gpu"})

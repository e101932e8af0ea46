"""Every misuse of the command line is one line on stderr and a documented exit status, never a
traceback: each case is caused for real on a subprocess running ``iii-core``."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from iii_core._cli_exit import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from tests.cli.support import COMMAND, assert_one_line_failure, iii_core

GET = json.dumps({"function_id": "state::get", "payload": {"scope": "s", "key": "k"}}) + "\n"


def test_data_file_in_a_missing_directory_names_that_directory() -> None:
    run = iii_core("call", "--data", "/nonexistent/x.log", stdin=GET)
    line = assert_one_line_failure(
        run, EXIT_FAILED, "iii-core call", "/nonexistent/x.log", "'/nonexistent' does not exist"
    )
    assert ".compact" not in line  # never a file the user did not name
    assert run.stdout == ""


def test_data_file_that_is_a_directory(tmp_path: Path) -> None:
    run = iii_core("call", "--data", str(tmp_path), stdin=GET)
    assert_one_line_failure(run, EXIT_FAILED, str(tmp_path), "is a directory")


def test_data_file_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("")
    run = iii_core("call", "--data", str(tmp_path / "plain" / "x.log"), stdin=GET)
    assert_one_line_failure(run, EXIT_FAILED, "is not a directory")


def test_corrupt_data_file_is_reported_and_left_as_it_was(tmp_path: Path) -> None:
    data = tmp_path / "store.log"
    content = b'["state:s","k",1]\nnot json at all\n["state:s","k",2]\n'
    data.write_bytes(content)
    run = iii_core("call", "--data", str(data), stdin=GET)
    assert_one_line_failure(run, EXIT_FAILED, str(data), "line 2")
    assert data.read_bytes() == content


@pytest.mark.parametrize(
    "content",
    [
        b'{"name": "package.json", "version": 1}\n',
        b"[1]\n[2, 3]\n",
        b'["k"]\n',
        b"\x00\xff\n\n",
        b"my notes, one line without a newline",
    ],
)
def test_a_file_that_is_not_a_store_log(tmp_path: Path, content: bytes) -> None:
    data = tmp_path / "other.json"
    data.write_bytes(content)
    run = iii_core("call", "--data", str(data), stdin=GET)
    assert_one_line_failure(run, EXIT_FAILED, str(data))
    assert data.read_bytes() == content


@pytest.mark.parametrize(
    ("file_mode", "dir_mode"),
    [(0o000, 0o755), (0o644, 0o555)],
    ids=["file-unreadable", "directory-read-only"],
)
def test_data_file_without_permission(tmp_path: Path, file_mode: int, dir_mode: int) -> None:
    data = tmp_path / "store.log"
    data.write_bytes(b'["state:s","k",1]\n')
    data.chmod(file_mode)
    tmp_path.chmod(dir_mode)
    try:
        run = iii_core("call", "--data", str(data), stdin=GET, unprivileged=True)
    finally:
        tmp_path.chmod(0o755)
        data.chmod(0o644)
    assert_one_line_failure(run, EXIT_FAILED, str(data), "permission denied")
    assert data.read_bytes() == b'["state:s","k",1]\n'
    assert [child.name for child in tmp_path.iterdir()] == ["store.log"]


def test_new_data_file_in_a_read_only_directory(tmp_path: Path) -> None:
    tmp_path.chmod(0o555)
    try:
        run = iii_core("call", "--data", str(tmp_path / "new.log"), stdin=GET, unprivileged=True)
    finally:
        tmp_path.chmod(0o755)
    assert_one_line_failure(run, EXIT_FAILED, "new.log", "permission denied")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["notaurl", "http://127.0.0.1:6379", "redis://127.0.0.1:notaport"])
def test_malformed_redis_url_is_a_usage_error(url: str) -> None:
    run = iii_core("call", "--redis", url, stdin=GET)
    assert_one_line_failure(run, EXIT_USAGE, "iii-core call", "--redis", url)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((), "required: COMMAND"),
        (("nope",), "invalid choice: 'nope'"),
        (("call", "--bogus"), "unrecognized arguments: --bogus"),
        (("call", "--data"), "expected one argument"),
        (("call", "--data", "a.log", "--redis", "redis://127.0.0.1"), "not allowed with"),
        (("serve", "--port", "eighty"), "invalid int value"),
    ],
)
def test_wrong_command_line_is_one_line_pointing_at_help(
    args: tuple[str, ...], fragment: str
) -> None:
    run = iii_core(*args)
    assert_one_line_failure(run, EXIT_USAGE, fragment, "--help")


# `serve`'s options and store are issue-10's (src/iii_core/server/_main.py), with
# iii_core._cli_exit's helpers.
def test_serve_port_out_of_range_is_a_usage_error() -> None:
    run = iii_core("serve", "--port", "70000", timeout=30)
    assert_one_line_failure(run, EXIT_USAGE, "70000")


def test_serve_malformed_redis_url_is_a_usage_error() -> None:
    run = iii_core("serve", "--port", "0", "--redis", "notaurl", timeout=30)
    assert_one_line_failure(run, EXIT_USAGE, "iii-core serve", "notaurl")


def test_serve_data_file_in_a_missing_directory_names_that_directory() -> None:
    run = iii_core("serve", "--port", "0", "--data", "/nonexistent/x.log", timeout=30)
    line = assert_one_line_failure(run, EXIT_FAILED, "iii-core serve", "'/nonexistent' does not")
    assert ".compact" not in line


def test_unknown_function_id_is_an_answer_not_a_failure(tmp_path: Path) -> None:
    # A line the store cannot use is answered in the JSON-lines protocol; the command goes on.
    calls = [
        {"function_id": "stream::nope", "payload": {}},
        {"function_id": "state::set", "payload": {"scope": "s", "key": "k", "value": 1}},
    ]
    run = iii_core(
        "call",
        "--data",
        str(tmp_path / "store.log"),
        stdin="".join(json.dumps(call) + "\n" for call in calls),
    )
    assert (run.status, run.stderr) == (EXIT_OK, "")
    first, second = (json.loads(line) for line in run.stdout.splitlines())
    assert first["error"]["code"] == "function_not_found"
    assert "stream::nope" in first["error"]["message"]
    assert second == {"result": {"old_value": None, "new_value": 1}}


@pytest.mark.parametrize("command", ["apply", "call"])
def test_ctrl_c_while_reading_input(command: str) -> None:
    process = subprocess.Popen(
        [*COMMAND, command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        # One answered line proves the command is up and waiting for the next.
        line = GET if command == "call" else '{"ops": []}\n'
        process.stdin.write(line.encode())
        process.stdin.flush()
        assert process.stdout.readline()
        process.send_signal(signal.SIGINT)
        # stdin stays open until the command has exited: closing it now (as communicate() does)
        # would race the signal with end of input.
        process.wait(timeout=30)
        assert process.stderr is not None
        stderr = process.stderr.read()
    finally:
        process.kill()
        process.wait()
    lines = stderr.decode().splitlines()
    assert process.returncode == EXIT_INTERRUPTED
    assert lines == [f"iii-core {command}: interrupted"]


def test_reader_gone_is_not_a_traceback() -> None:
    # `iii-core apply ... | head -1`: the reader closes the pipe after the first answer.
    requests = '{"ops": []}\n' * 20_000
    process = subprocess.Popen(
        [*COMMAND, "apply"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        assert process.stderr is not None
        process.stdin.write(b'{"ops": []}\n')
        process.stdin.flush()
        assert process.stdout.readline()
        process.stdout.close()
        deadline = time.monotonic() + 30
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(requests.encode())
            process.stdin.close()
        process.wait(timeout=max(deadline - time.monotonic(), 1))
        stderr = process.stderr.read().decode()
    finally:
        process.kill()
        process.wait()
    assert "Traceback" not in stderr
    assert stderr == ""
    assert process.returncode == EXIT_FAILED

"""SIGKILL a tool's real process part-way through its work, for the "kill -9 loses nothing"
tests of the resumable tools.

:func:`kill_at` starts a tool, polls ``progress()`` (the fraction of the work found finished on
disk), sends SIGKILL once it reaches a given fraction and checks that every process the tool
started dies with it. A write caught between its last byte and its rename is too short a
window to hit by polling: :func:`killed_at_write` runs a tool that SIGKILLs itself at the moment
it puts data in place under a given file name (``python tests/kill_helpers.py --kill-at-write
NAME TOOL ARGS...``).
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from typing import Callable, List, Optional, Sequence, Set


def children(pid: int) -> Set[int]:
    """Pids of the live child processes of ``pid`` (Linux ``/proc``)."""
    kids = set()
    try:
        tasks = os.listdir(f'/proc/{pid}/task')
    except FileNotFoundError:
        return kids
    for task in tasks:
        try:
            with open(f'/proc/{pid}/task/{task}/children') as f:
                kids |= {int(c) for c in f.read().split()}
        except FileNotFoundError:
            pass
    return kids


def descendants(pid: int) -> Set[int]:
    """Pids of the children of ``pid``, their children, and so on."""
    found, todo = set(), [pid]
    while todo:
        for kid in children(todo.pop()) - found:
            found.add(kid)
            todo.append(kid)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().split(')')[-1].split()[0] != 'Z'
    except FileNotFoundError:
        return False


def temporaries(root) -> List[str]:
    """Paths of the ``.<name>.<random>.tmp`` files (``ava_plugins.utils.atomic_open``'s
    temporaries) anywhere under ``root``."""
    return sorted(osp.join(d, n) for d, _, names in os.walk(root) for n in names
                  if n.startswith('.') and n.endswith('.tmp'))


def kill_at(cmd: Sequence[str], progress: Callable[[], float], fraction: float,
            timeout: float = 300, poll: float = 0.02, expect_children: bool = False,
            **popen) -> Set[int]:
    """Run ``cmd``; SIGKILL it once ``progress()`` reaches ``fraction``; return the pids of the
    processes it had started, all checked dead within 10 s of the kill.

    Fails when the tool finishes (or ``timeout`` passes) before the kill, or, with
    ``expect_children``, when no child process was seen.
    """
    import tempfile
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(list(cmd), stdout=subprocess.DEVNULL, stderr=err, **popen)
        seen: Set[int] = set()
        try:
            deadline = time.time() + timeout
            while proc.poll() is None and time.time() < deadline:
                seen |= descendants(proc.pid)
                if progress() >= fraction:
                    break
                time.sleep(poll)
            if proc.poll() is not None:
                err.seek(0)
                raise AssertionError(
                    f'{cmd[1]} ended (exit {proc.returncode}) before it reached {fraction:.0%} of '
                    f'its work (found {progress():.0%}); its stderr ends:\n'
                    f'{err.read()[-3000:].decode(errors="replace")}')
            assert progress() >= fraction, f'{cmd[1]}: {fraction:.0%} not reached in {timeout} s'
            seen |= descendants(proc.pid)
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f'{cmd[1]} ended with {proc.returncode}'
    if expect_children:
        assert seen, 'no child process of the tool was seen'
    deadline = time.time() + 10
    while any(alive(p) for p in seen) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in seen), 'processes of the tool outlived its SIGKILL'
    return seen


def killed_at_write(name: str, cmd: Sequence[str], **run) -> subprocess.CompletedProcess:
    """Run ``cmd`` (``[python, TOOL, ARGS...]``) until it first puts data in place under a file
    called ``name``, and SIGKILL it there: just before it renames a finished temporary to that
    name (an atomic write), or just after it opens that file itself for writing (a write in
    place, which leaves it truncated). Fails if the tool ends otherwise."""
    out = subprocess.run([cmd[0], osp.abspath(__file__), '--kill-at-write', name, *cmd[1:]],
                         capture_output=True, text=True, **run)
    assert out.returncode == -signal.SIGKILL, (
        f'{cmd[1]} was to be killed writing {name}, it ended with {out.returncode}:\n'
        f'{out.stderr[-3000:]}')
    return out


def _run_killed_at_write(argv: Optional[List[str]] = None) -> None:
    """``--kill-at-write NAME TOOL ARGS...``: run the tool script with ``os.replace`` onto a file
    called NAME, and ``open`` of such a file for writing, followed by a SIGKILL of this
    process."""
    import builtins
    import runpy
    argv = sys.argv[1:] if argv is None else argv
    assert argv[0] == '--kill-at-write' and len(argv) >= 3, argv
    name, script, args = argv[1], argv[2], argv[3:]
    real_replace, real_open = os.replace, builtins.open

    def replace(src, dst, *a, **kw):
        if osp.basename(os.fspath(dst)) == name:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(src, dst, *a, **kw)

    def open_(file, mode='r', *a, **kw):
        f = real_open(file, mode, *a, **kw)
        if (isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set('wax+')
                and osp.basename(os.fsdecode(file)) == name):
            os.kill(os.getpid(), signal.SIGKILL)
        return f

    os.replace, builtins.open = replace, open_
    sys.argv = [script, *args]
    sys.path[0] = osp.dirname(osp.abspath(script))
    runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    _run_killed_at_write()

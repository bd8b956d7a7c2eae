# Runs the shell under a real pseudo-terminal and types into it, as a person would:
#   python3 shell-pty.py <node> <shell-runner.mjs> <host:port> <keystrokes...>
# Each keystroke argument (with \t, \r escapes) is written once the output has settled;
# everything the terminal showed goes to stdout, then a line `EXIT <code>`.
import os, pty, select, sys, time

node, runner, server, *keys = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(node, [node, runner, '-server', server])

def drain(settle, limit=10.0):
    """Reads until nothing arrives for `settle` seconds (or `limit` seconds in all)."""
    out = b''
    start = last = time.time()
    while time.time() - last < settle and time.time() - start < limit:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            last = time.time()
    return out

output = drain(1.0)
while b'CONNECTED' not in output:
    more = drain(0.5)
    if not more:
        break
    output += more
for key in keys:
    os.write(fd, key.encode().decode('unicode_escape').encode())
    output += drain(0.5)
os.write(fd, b'quit\r')
output += drain(0.5)
_, status = os.waitpid(pid, 0)
sys.stdout.write(output.decode('utf-8', 'replace'))
sys.stdout.write('\nEXIT %d\n' % os.waitstatus_to_exitcode(status))

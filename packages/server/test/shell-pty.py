# Runs `zabkit shell` under a real pseudo-terminal and types into it, as a person would:
# python3 shell-pty.py <node> <zabkit.js> <host:port> <keystrokes...>. Each keystroke
# argument is written after the previous output settles; everything the terminal showed
# goes to stdout.
import os, pty, select, sys, time

node, script, server, *keys = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(node, [node, script, 'shell', '-server', server])

def drain(seconds):
    out = b''
    deadline = time.time() + seconds
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out

output = drain(3.0)
for key in keys:
    os.write(fd, key.encode().decode('unicode_escape').encode())
    output += drain(1.0)
os.write(fd, b'quit\r')
output += drain(1.0)
sys.stdout.write(output.decode('utf-8', 'replace'))
os.waitpid(pid, 0)

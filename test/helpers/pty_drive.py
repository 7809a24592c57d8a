# Drives a program through a pseudo-terminal, as a person at a terminal would:
# waits for each expected pattern, then types the next input. Prints the whole
# screen transcript as JSON at the end. Usage: pty_drive.py STEPS_JSON CMD...
# where STEPS_JSON is [[regex, text to type], ...]; "\x04" types Ctrl-D.
import json
import os
import pty
import re
import select
import sys
import time

steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])

transcript = b""
failed = None


def read_until(pattern, timeout):
    global transcript
    deadline = time.time() + timeout
    start = len(transcript)
    while time.time() < deadline:
        if re.search(pattern.encode(), transcript[start:]):
            return True
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            transcript += data
    return False


for pattern, text in steps:
    if not read_until(pattern, 30):
        failed = pattern
        break
    os.write(fd, text.encode())

# Let it finish: read until EOF.
end = time.time() + 20
while time.time() < end:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        transcript += data
if failed is not None:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
print(json.dumps({"transcript": transcript.decode("utf-8", "replace"), "failed_at": failed,
                  "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1}))

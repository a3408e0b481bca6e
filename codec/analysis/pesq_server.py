"""The PESQ child process (run by pesq_process, as a script, not imported).

Answers on a private copy of stdout; the real stdout is pointed at stderr before `pesq` is
imported, because the package prints its usage there and the ITU code prints its own
messages, and those lines must not be taken for answers. Once imported it says "ready".
Then it reads requests from stdin, one after another: a JSON line {"id", "rate", "mode",
"n"} followed by 2 * n float32 samples (reference, then degraded), and answers each with
one JSON line: {"id", "value": MOS-LQO} or {"id", "error": exception class name,
"message": text}. Ends when stdin closes. Imports numpy and pesq only (not the codec
package, not torch).
"""

import json
import os
import signal
import sys


def serve(inp, out) -> None:
    import numpy as np
    import pesq

    out.write(b'{"ready": true}\n')
    out.flush()
    while True:
        line = inp.readline()
        if not line:
            return
        req = json.loads(line)
        n = int(req["n"])
        data = np.frombuffer(inp.read(8 * n), np.float32) if n else np.zeros(0, np.float32)
        ref, deg = data[:n], data[n:]
        answer = {"id": req.get("id")}
        try:
            answer["value"] = float(pesq.pesq(int(req["rate"]), ref, deg, req["mode"]))
        except Exception as e:  # every failure goes back to the caller, named
            msg = e.args[0] if e.args else e
            text = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
            answer.update(error=type(e).__name__, message=text)
        out.write((json.dumps(answer) + "\n").encode())
        out.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the app, which ends us
    reply = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever else is printed goes to stderr
    serve(sys.stdin.buffer, reply)

"""The PESQ child process (run by pesq_process, as a script, not imported).

Reads requests from stdin, one after another: a JSON line {"rate", "mode", "n"} followed
by 2 * n float32 samples (reference, then degraded), and answers each with one JSON line
on stdout: {"value": MOS-LQO} or {"error": exception class name, "message": text}. Ends
when stdin closes. Imports numpy and pesq only (not the codec package, not torch).
"""

import json
import sys

import numpy as np
import pesq


def serve(inp, out) -> None:
    while True:
        line = inp.readline()
        if not line:
            return
        req = json.loads(line)
        n = int(req["n"])
        data = np.frombuffer(inp.read(8 * n), np.float32) if n else np.zeros(0, np.float32)
        ref, deg = data[:n], data[n:]
        try:
            answer = {"value": float(pesq.pesq(int(req["rate"]), ref, deg, req["mode"]))}
        except Exception as e:  # every failure goes back to the caller, named
            msg = e.args[0] if e.args else e
            text = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
            answer = {"error": type(e).__name__, "message": text}
        out.write((json.dumps(answer) + "\n").encode())
        out.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)

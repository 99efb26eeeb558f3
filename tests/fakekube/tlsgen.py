"""A throwaway CA and a server certificate for 127.0.0.1, made with openssl(1).

The client under test verifies the server exactly as it would a real cluster:
against the CA in the kubeconfig, with the server's IP in subjectAltName. The
keys are P-256 (fast to make) and live in the state directory, valid 7 days.
"""
import os
import subprocess

SERVER_EXT = """basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
"""


def _openssl(*args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {proc.stderr.decode(errors='replace')}")


def make_certs(directory):
    """Write ca.crt, server.crt and server.key into `directory`; return their paths."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "7",
             "-subj", "/CN=fakekube-ca", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=fakekube", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write(SERVER_EXT)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "7", "-extfile", "server.ext", "-out", "server.crt",
             cwd=directory)
    for f in ("ca.key", "server.key"):
        os.chmod(os.path.join(directory, f), 0o600)
    return tuple(os.path.join(directory, f) for f in ("ca.crt", "server.crt", "server.key"))

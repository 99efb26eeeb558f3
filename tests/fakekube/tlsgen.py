"""A throwaway CA, a server certificate for 127.0.0.1 and a client
certificate, made with openssl(1).

The client under test verifies the server exactly as it would a real cluster:
against the CA in the kubeconfig, with the server's IP in subjectAltName. The
client certificate (CN fakekube-admin, O system:masters, as kubeadm's admin
kubeconfig has) lets it authenticate without a token. The keys are P-256
(fast to make) and live in the state directory, valid 7 days.
"""
import os
import subprocess

SERVER_EXT = """basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
"""
CLIENT_EXT = """basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
"""


def _openssl(*args, cwd):
    proc = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {proc.stderr.decode(errors='replace')}")


def make_certs(directory):
    """Write the CA, server and client certificates and keys; return their paths."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "7",
             "-subj", "/CN=fakekube-ca", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    _openssl("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=fakekube", cwd=directory)
    _sign(directory, "server", SERVER_EXT)
    _openssl("req", "-new", *ec, "-keyout", "client.key", "-out", "client.csr",
             "-subj", "/O=system:masters/CN=fakekube-admin", cwd=directory)
    _sign(directory, "client", CLIENT_EXT)
    for f in ("ca.key", "server.key", "client.key"):
        os.chmod(os.path.join(directory, f), 0o600)
    return {"ca": os.path.join(directory, "ca.crt"),
            "server_cert": os.path.join(directory, "server.crt"),
            "server_key": os.path.join(directory, "server.key"),
            "client_cert": os.path.join(directory, "client.crt"),
            "client_key": os.path.join(directory, "client.key")}


def _sign(directory, name, extensions):
    with open(os.path.join(directory, name + ".ext"), "w") as f:
        f.write(extensions)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "7", "-extfile", name + ".ext", "-out", name + ".crt",
             cwd=directory)

#!/usr/bin/python3
"""An exec credential plugin, as EKS and GKE kubeconfigs use them.

fakekube writes DIR/kubeconfig-exec naming this script with DIR/token as its
argument; a client runs it and reads an ExecCredential from stdout, as
client-go does with `aws eks get-token` or `gke-gcloud-auth-plugin`. The
credential expires in an hour, so a client that caches it has a timestamp to
honour.
"""
import datetime
import json
import sys


def main():
    if len(sys.argv) != 2:
        print("usage: exec_credential.py TOKEN_FILE", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        token = f.read().strip()
    expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    json.dump({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
               "status": {"token": token,
                          "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}},
              sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""deconflictd over HTTPS (--tls-cert/--tls-key), with a real client verifying the chain: a test
CA and a server certificate for 127.0.0.1 are made here with Debian's openssl; Python's ssl
client, trusting that CA only and checking the name, gets a party's answer; a client that does
not trust the CA fails the handshake; a plain-HTTP request to the port gets no answer; the
CLI's client (`deconflict feed`) sends over HTTPS with --cacert and refuses the certificate
without it; a key file others may read, or a certificate without its key, is refused at start.

usage: test_tls.py BIN_DIR OPENAPI_YAML"""
import http.client
import os
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_daemon as td  # noqa: E402

check = td.check


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def main():
    tmp = tempfile.mkdtemp(prefix="dc-tls-")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=deconflict test CA", cwd=tmp)
    openssl("req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1", cwd=tmp)
    with open(os.path.join(tmp, "ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "srv.pem", "-days", "2", "-extfile", "ext", cwd=tmp)
    openssl("req", "-x509", *ec, "-keyout", "other.key", "-out", "other.pem", "-days", "2", "-subj", "/CN=other CA", cwd=tmp)
    key, cert = os.path.join(tmp, "srv.key"), os.path.join(tmp, "srv.pem")
    os.chmod(key, 0o600)
    data = os.path.join(tmp, "data")
    tok = td.add_party(data, "alpha")

    p = subprocess.Popen([td.DAEMON, *td.store_args(data), "--listen", "127.0.0.1:0", "--quiet",
                          "--tls-cert", cert, "--tls-key", key], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    td._started.append(p)
    line = p.stdout.readline()
    check(line.startswith("deconflictd listening on https://127.0.0.1:"), f"it says https: {line.strip()}")
    port = int(line.split(":")[2].split()[0])

    ctx = ssl.create_default_context(cafile=os.path.join(tmp, "ca.pem"))  # verifies chain and name
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    c.request("GET", "/v1/tracks", headers={"Authorization": f"Bearer {tok}"})
    r = c.getresponse()
    body = r.read()
    version = c.sock.version()
    c.close()
    check(r.status == 200 and b"tracks" in body, f"a party's request over TLS ({version}), the chain verified: {r.status}")

    other = ssl.create_default_context(cafile=os.path.join(tmp, "other.pem"))
    try:
        c = http.client.HTTPSConnection("127.0.0.1", port, context=other, timeout=10)
        c.request("GET", "/healthz")
        c.getresponse()
        refused = False
    except ssl.SSLCertVerificationError:
        refused = True
    check(refused, "a client that does not trust the CA fails the handshake")

    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/healthz")
        plain = c.getresponse().status
    except (OSError, http.client.HTTPException):
        plain = None
    check(plain is None, f"plain HTTP to the TLS port gets no HTTP answer ({plain})")
    # The CLI's HTTPS client: `deconflict feed` to the service, trusting the test CA with
    # --cacert; without it, the system's CAs do not know this one and nothing is sent.
    rows = os.path.join(tmp, "two.csv")
    with open(rows, "w") as f:
        f.write("t_unix,icao24,callsign,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm\n"
                "1000,abc123,TLS1,47.0,8.0,35000,450,90,0\n1001,abc123,TLS1,47.0,8.01,35000,450,90,0\n")
    url = f"https://127.0.0.1:{port}"
    fed = subprocess.run([td.CLI, "feed", rows, "--to", url, "--token", tok, "--speed", "100", "--cacert",
                          os.path.join(tmp, "ca.pem")], capture_output=True, text=True, timeout=30)
    check(fed.returncode == 0 and "2 reports sent" in fed.stderr,
          f"deconflict feed --cacert CA over HTTPS: exit {fed.returncode}, {fed.stderr.strip().splitlines()[-1]}")
    fed = subprocess.run([td.CLI, "feed", rows, "--to", url, "--token", tok, "--speed", "100"],
                         capture_output=True, text=True, timeout=30)
    check(fed.returncode != 0, "without --cacert the service's certificate is not trusted: nothing sent, exit 1")
    p.terminate()
    p.wait(10)

    os.chmod(key, 0o644)
    bad = subprocess.run([td.DAEMON, *td.store_args(data), "--listen", "127.0.0.1:0", "--tls-cert", cert,
                          "--tls-key", key], capture_output=True, text=True, timeout=10)
    check(bad.returncode != 0 and "chmod 600" in bad.stderr, "a private key others may read is refused")
    bad = subprocess.run([td.DAEMON, *td.store_args(data), "--listen", "127.0.0.1:0", "--tls-cert", cert],
                         capture_output=True, text=True, timeout=10)
    check(bad.returncode != 0 and "go together" in bad.stderr, "a certificate without its key is refused")
    print("all passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL", e)
        sys.exit(1)

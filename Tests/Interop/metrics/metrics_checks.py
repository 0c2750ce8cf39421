"""Checks of `GET /metrics` for Tests/Interop/metrics/run.sh, with the real Prometheus
text parser from PyPI (prometheus_client.parser.text_string_to_metric_families).

  metrics_checks.py parse FILE...                     every file parses; prints the families
  metrics_checks.py moved A_BEFORE A_AFTER B_BEFORE B_AFTER SIZE
      A served, B received at least SIZE bytes between the scrapes; B completed one download
  metrics_checks.py served_to FILE PEER SIZE
      the node scraped into FILE served at least SIZE bytes over HTTP under peer="PEER"
"""
import sys

from prometheus_client.parser import text_string_to_metric_families

failures = 0


def check(ok, what):
    global failures
    print(("ok - " if ok else "FAIL - ") + what)
    if not ok:
        failures += 1


def families(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # A generator: list() makes the parser read the whole text (it raises on any bad line).
    return list(text_string_to_metric_families(text))


def total(fams, name, **labels):
    value = 0.0
    for family in fams:
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                value += sample.value
    return value


def parse(paths):
    for path in paths:
        try:
            fams = families(path)
        except Exception as error:  # the parser's own error, whatever its type
            check(False, f"{path} parses with prometheus_client: {error!r}")
            continue
        names = sorted(f.name for f in fams)
        check(len(fams) > 0, f"{path} parses with prometheus_client: {len(fams)} families")
        for expected, kind in [
            ("atmo_bytes_served", "counter"),
            ("atmo_bytes_received", "counter"),
            ("atmo_pieces_verified", "counter"),
            ("atmo_pieces_rejected", "counter"),
            ("atmo_downloads", "gauge"),
            ("atmo_downloads_finished", "counter"),
            ("atmo_hash_bytes", "counter"),
            ("atmo_hash_seconds", "counter"),
            ("atmo_mesh_models", "gauge"),
            ("atmo_mesh_peers", "gauge"),
            ("atmo_relay_connections", "gauge"),
            ("atmo_gossip_messages_sent", "counter"),
            ("atmo_gossip_messages_received", "counter"),
        ]:
            found = [f for f in fams if f.name == expected]
            check(len(found) == 1 and found[0].type == kind, f"{path}: {expected} is a {kind} ({names if not found else found[0].type})")


def moved(a_before, a_after, b_before, b_after, size):
    size = float(size)
    a0, a1, b0, b1 = (families(p) for p in (a_before, a_after, b_before, b_after))
    served = total(a1, "atmo_bytes_served_total") - total(a0, "atmo_bytes_served_total")
    check(served >= size, f"node A's atmo_bytes_served_total moved by {served:.0f} (>= {size:.0f})")
    received = total(b1, "atmo_bytes_received_total") - total(b0, "atmo_bytes_received_total")
    check(received >= size, f"node B's atmo_bytes_received_total moved by {received:.0f} (>= {size:.0f})")
    completed = total(b1, "atmo_downloads_finished_total", state="completed") - total(
        b0, "atmo_downloads_finished_total", state="completed")
    check(completed == 1, f"node B's atmo_downloads_finished_total{{state=\"completed\"}} moved by {completed:.0f} (1)")
    check(total(b1, "atmo_mesh_models") >= 1, f"node B's atmo_mesh_models is {total(b1, 'atmo_mesh_models'):.0f} (>= 1)")
    check(total(b1, "atmo_mesh_peers") >= 1, f"node B's atmo_mesh_peers is {total(b1, 'atmo_mesh_peers'):.0f} (>= 1)")
    hashed = total(a1, "atmo_hash_bytes_total")
    check(hashed >= size, f"node A's atmo_hash_bytes_total is {hashed:.0f} (>= {size:.0f})")
    gossip = total(b1, "atmo_gossip_messages_received_total") + total(b1, "atmo_gossip_messages_sent_total")
    check(gossip > 0, f"node B counted {gossip:.0f} gossip messages")


def served_to(path, peer, size):
    fams = families(path)
    named = total(fams, "atmo_bytes_served_total", route="http", peer=peer)
    unknown = total(fams, "atmo_bytes_served_total", route="http", peer="unknown")
    check(named >= float(size),
          f"bytes served over HTTP counted under the requesting node's id: peer=\"{peer}\" {named:.0f} (>= {size}), unknown {unknown:.0f}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "parse":
        parse(args)
    elif command == "moved":
        moved(*args)
    elif command == "served_to":
        served_to(*args)
    else:
        sys.exit(f"unknown command {command}")
    sys.exit(1 if failures else 0)

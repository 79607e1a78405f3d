# SPDX-License-Identifier: Apache-2.0
"""`msb policy check`: the policy engine answering from the command line (no network involved)."""


def check(msb, *args):
    return msb.run("policy", "check", *args)


def test_seed_deny_by_default_allows_https_to_public_only(msb):
    flags = ["--net-default-egress", "deny", "--net-rule", "allow@public:tcp:443,allow@host:udp:53"]
    p = check(msb, *flags, "203.0.113.7:443/tcp")
    assert p.returncode == 0 and "allow: rule[0] `allow@public:tcp:443` matched" in p.out, p.out
    p = check(msb, *flags, "203.0.113.7:80/tcp")
    assert "deny: no rule matched; egress default is deny" in p.out, p.out
    p = check(msb, *flags, "172.16.0.1:53/udp")
    assert "allow: rule[1] `allow@host:udp:53` matched" in p.out, p.out
    p = check(msb, *flags, "10.1.2.3:443/tcp")
    assert p.out.splitlines()[-1].startswith("deny"), p.out


def test_deny_meta_wins_under_allow_by_default(msb):
    p = check(msb, "--net-default", "allow", "--net-rule", "deny@meta", "169.254.169.254:80")
    assert p.out.splitlines()[-1] == "deny: rule[0] `deny@meta` matched", p.out
    p = check(msb, "--net-default", "allow", "--net-rule", "deny@meta", "169.254.169.253:80")
    assert p.out.splitlines()[-1].startswith("allow"), p.out


def test_default_is_public_profile(msb):
    assert check(msb, "198.51.100.9:443").out.splitlines()[-1].startswith("allow")
    for private in ("10.0.0.5:22", "192.168.1.1:80", "127.0.0.1:8080", "[::1]:80"):
        assert check(msb, private).out.splitlines()[-1].startswith("deny"), private


def test_domain_rule_needs_the_pinned_name(msb):
    flags = ["--net-default", "deny", "--net-rule", "allow@github.com"]
    assert check(msb, *flags, "--name", "github.com", "192.0.2.10:443").out.splitlines()[-1].startswith("allow")
    # the same IP without the name (a hard-coded address), or with another name, is denied
    assert check(msb, *flags, "192.0.2.10:443").out.splitlines()[-1].startswith("deny")
    assert check(msb, *flags, "--name", "evil.example", "192.0.2.10:443").out.splitlines()[-1].startswith("deny")


def test_bad_input_is_rejected_with_the_reason(msb):
    p = check(msb, "--net-rule", "allow@githb.com:tcp:443:1", "192.0.2.1")
    assert p.returncode == 1 and "trailing fields" in p.err
    p = check(msb, "--net-rule", "alow@public", "192.0.2.1")
    assert p.returncode == 1 and "Did you mean `allow`" in p.err, p.err
    p = check(msb, "192.0.2.1:99999")
    assert p.returncode == 1 and "invalid port" in p.err
    p = check(msb, "--no-net", "--net", "public", "192.0.2.1")
    assert p.returncode == 1 and p.err.startswith("error:")


def test_run_and_create_validate_network_flags(msb):
    # a valid deny-by-default policy is accepted and recorded (enforcement: test_network.py)
    p = msb.run("create", "host", "--name", "rw", "--net-default-egress", "deny",
                "--net-rule", "allow@public:tcp:443,allow@host:udp:53")
    assert p.returncode == 0, p.err
    cfg = __import__("json").loads(msb.ok("inspect", "rw", "--format", "json").out)["config"]
    assert cfg["net_flags"] == [["net-default-egress", "deny"], ["net-rule", "allow@public:tcp:443,allow@host:udp:53"]]
    # bad rules and conflicting flags are refused before anything is created
    for bad in (["--net-rule", "alow@x.com"], ["--no-net", "--net", "public"], ["--net-default", "maybe"]):
        p = msb.run("create", "host", "--name", "bad", *bad)
        assert p.returncode != 0 and p.err.count("error:") == 1, (bad, p.err)
    assert msb.ok("ls", "-q").out.split() == ["rw"]
    # --no-net keeps the interface (spec/network.md §3) and denies everything (test_network.py)
    p = msb.run("run", "host", "--no-net", "--", "cat", "/proc/net/dev")
    assert p.returncode == 0
    ifaces = sorted(l.split(":")[0].strip() for l in p.out.splitlines()[2:])
    assert ifaces == ["eth0", "lo", "msb0"], p.out

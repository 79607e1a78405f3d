# SPDX-License-Identifier: Apache-2.0
"""Output formats, streams and exit statuses a script written for the reference CLI relies on
(spec/cli.md §2, §3.1, §3.18-3.19). Nothing here needs the network or an image."""
import json
import os

import pytest


def test_empty_image_list_streams(msb):
    p = msb.ok("images")
    assert p.out == "" and p.err == "No images found.\n"
    p = msb.ok("image", "ls", "--format", "json")
    assert json.loads(p.out) == []
    assert msb.ok("image", "list", "-q").out == ""
    p = msb.run("images", "--format", "yaml")
    assert p.returncode == 2 and "possible values: json" in p.err


def test_parent_commands_without_subcommand(msb):
    for parent in ("image", "registry"):
        p = msb.run(parent)
        assert p.returncode == 2 and p.out == "" and "Usage: msb %s <COMMAND>" % parent in p.err
        p = msb.ok(parent, "--help")
        assert "Usage: msb %s <COMMAND>" % parent in p.out


def test_image_errors(msb):
    p = msb.run("image", "inspect", "nosuch")
    assert p.returncode == 1 and p.err.startswith("error: image not found: nosuch")
    p = msb.run("rmi", "nosuch")
    assert p.returncode == 1 and p.err.splitlines()[-1] == "error: some images failed to remove"
    assert msb.run("pull").returncode == 2
    assert msb.run("save").returncode == 2


def test_save_of_unknown_image_writes_nothing(msb):
    p = msb.run("save", "nosuch")
    assert p.returncode == 1 and p.stdout == b"" and "image not found" in p.err


def test_prune_empty_store(msb):
    p = msb.ok("image", "prune", "-y")
    assert p.out == "Nothing to prune.\n"
    p = msb.ok("image", "prune", "-y", "--format", "json")
    assert set(json.loads(p.out)) == {"image_refs_removed", "manifests_removed", "layers_removed",
                                      "fsmeta_removed", "vmdk_removed", "bytes_reclaimed"}
    p = msb.run("image", "prune")
    assert p.returncode == 1 and "non-interactive terminal; use --yes to prune cached images" in p.err


def test_registry_list(msb):
    for argv in (["registry", "list"], ["registry", "ls"], ["registries"], ["regs"]):
        p = msb.ok(*argv)
        assert p.out == "No registries configured.\n" and p.err == ""
    msb.ok("registry", "login", "ghcr.io", "-u", "alice", "--password-stdin", input=b"tok\n")
    lines = msb.ok("registry", "list").out.splitlines()
    assert lines[0].split() == ["REGISTRY", "USERNAME", "SOURCE"]
    assert lines[1].split() == ["ghcr.io", "alice", "keyring"]
    assert "tok" not in "".join(lines)
    p = msb.run("registry", "login", "ghcr.io", "-u", "alice", "--password-stdin", input=b"\n")
    assert p.returncode == 1 and "password/token cannot be empty" in p.err
    assert msb.run("registry", "login", "ghcr.io", "--password-stdin", input=b"x\n").returncode == 2
    msb.ok("registry", "logout", "ghcr.io")
    assert msb.ok("registry", "list").out == "No registries configured.\n"


@pytest.mark.parametrize("flags,msg", [
    (["--no-net", "--net", "public"], "the argument '--no-net' cannot be used with '--net <PROFILE>'"),
    (["--net-default-egress", "deny", "--no-net"],
     "the argument '--net-default-egress <ACTION>' cannot be used with '--no-net'"),
    (["--net", "private", "--net-default", "allow"],
     "the argument '--net <PROFILE>' cannot be used with '--net-default <ACTION>'"),
    (["--net-default", "allow", "--net-default-ingress", "deny"],
     "the argument '--net-default <ACTION>' cannot be used with '--net-default-ingress <ACTION>'"),
    (["--no-net", "--no-net"], "the argument '--no-net' cannot be used multiple times"),
    (["--net-default", "allow", "--net-default", "deny"],
     "the argument '--net-default <ACTION>' cannot be used multiple times"),
    (["--max-connections", "many"], "invalid value 'many' for '--max-connections <MAX_CONNECTIONS>'"),
    (["--dns-query-timeout-ms", "1.5"], "invalid value '1.5' for '--dns-query-timeout-ms <MS>'"),
])
def test_network_flag_usage_errors_exit_2(msb, flags, msg):
    for cmd in (["create", "--name", "u", *flags, "host"], ["run", "--name", "u", *flags, "host", "--", "true"]):
        p = msb.run(*cmd)
        assert p.returncode == 2 and p.err.startswith("error: " + msg), (cmd, p.err)
    assert msb.ok("ls", "-q").out == ""


@pytest.mark.parametrize("flags,msg", [
    (["--max-connections", "5000"], "--max-connections 5000 is too large"),
    (["--net", "bogus"], "unknown --net profile"),
    (["-p", "8080"], "port must be in format HOST:GUEST[/udp] or BIND_ADDR:HOST:GUEST[/udp]"),
    (["--net-egress-bandwidth", "1.5M"], "invalid size `1.5M` (expected raw bytes or K/M/G suffix)"),
])
def test_network_value_errors_exit_1(msb, flags, msg):
    p = msb.run("create", "--name", "v", *flags, "host")
    assert p.returncode == 1 and msg in p.err, p.err

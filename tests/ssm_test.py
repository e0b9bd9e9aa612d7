#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check the SSM document and the lifecycle policy against the contract.

    python3 tests/ssm_test.py [REPO]

Parses ssm/snapfreeze.yaml and ssm/policy-example.json and checks every rule
of ../shared/MISSION.md about them; runs the document's script with a
stand-in helper to see that it passes every exit code through; checks that
`user/snapfreeze --help` (skipped if not built) and docs/snapfreeze.8 name
every option and every exit code.  Needs python3 and python3-yaml only.

Prints KTAP as kselftests do: `ok N - name` / `not ok N - name` (`ok N -
name # SKIP why`) and a last line `# Totals: pass:P fail:F xfail:0 xpass:0
skip:S error:0`; exits 1 on a failure.
"""

import json
import os
import re
import stat
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), ".."))
DOC_PATH = os.path.join(REPO, "ssm", "snapfreeze.yaml")
POLICY_PATH = os.path.join(REPO, "ssm", "policy-example.json")
README_PATH = os.path.join(REPO, "ssm", "README.md")
HELPER = os.path.join(REPO, "user", "snapfreeze")
MAN_PAGE = os.path.join(REPO, "docs", "snapfreeze.8")

# The contract (MISSION.md).
DOC_NAME = "snapfreeze"
INSTALLED_HELPER = "/usr/sbin/snapfreeze"
COMMANDS = ["pre-script", "post-script", "dry-run"]
EXEC_ID_PATTERN = ("^(None|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
                   "-[0-9a-f]{12})$")
EXIT_CODES = [0, 1, 201, 202, 203, 204, 205, 206]
OPTIONS = ["--execution-id", "--timeout", "--target", "--include-root",
           "--hooks-dir", "--config", "--force", "--json", "--help",
           "--version"]
WORDS = COMMANDS + ["status", "monitor"]
STAGE_TIMEOUT = (10, 120)
RETRIES = (0, 3)

GOOD_IDS = ["None", "5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6",
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff"]
BAD_IDS = ["", "none", "NONE", "None ", " None", "NoneNone", "1234",
           "5F0C8A4E-1B2D-4C3E-9F10-A1B2C3D4E5F6",       # upper case
           "5f0c8a4e1b2d4c3e9f10a1b2c3d4e5f6",           # no dashes
           "5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f",        # one digit short
           "5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6a",      # one too many
           "{5f0c8a4e-1b2d-4c3e-9f10-a1b2c3d4e5f6}",
           "5f0c8a4g-1b2d-4c3e-9f10-a1b2c3d4e5f6",       # not hex
           "None; reboot", "$(reboot)", "None\" --force \"x"]


class Suite:
    def __init__(self):
        self.n = self.passed = self.failed = self.skipped = 0

    def check(self, name, fn):
        """Run fn(); it returns None (pass), raises Skip or AssertionError."""
        self.n += 1
        try:
            fn()
        except Skip as e:
            self.skipped += 1
            print(f"ok {self.n} - {name} # SKIP {e}")
            return
        except AssertionError as e:
            self.failed += 1
            print(f"# {e}")
            print(f"not ok {self.n} - {name}")
            return
        except Exception as e:  # a crash of the check is a failure too
            self.failed += 1
            print(f"# {type(e).__name__}: {e}")
            print(f"not ok {self.n} - {name}")
            return
        self.passed += 1
        print(f"ok {self.n} - {name}")

    def summary(self):
        print(f"# Totals: pass:{self.passed} fail:{self.failed} xfail:0 "
              f"xpass:0 skip:{self.skipped} error:0")
        return 1 if self.failed else 0


class Skip(Exception):
    pass


def load():
    """Both files, or the exception that loading them raised."""
    out = {}
    try:
        with open(DOC_PATH) as f:
            out["doc"] = yaml.safe_load(f)
    except Exception as e:  # reported by the first check
        out["doc_error"] = e
    try:
        with open(POLICY_PATH) as f:
            out["policy"] = json.load(f)
    except Exception as e:
        out["policy_error"] = e
    return out


FILES = load()


def doc():
    assert "doc" in FILES, f"{DOC_PATH}: {FILES.get('doc_error')}"
    d = FILES["doc"]
    assert isinstance(d, dict), "the document is not a mapping"
    return d


def policy():
    assert "policy" in FILES, f"{POLICY_PATH}: {FILES.get('policy_error')}"
    p = FILES["policy"]
    assert isinstance(p, dict), "the policy is not an object"
    return p


def param(name):
    params = doc().get("parameters")
    assert isinstance(params, dict), "no parameters mapping"
    assert name in params, f"no parameter {name}"
    return params[name]


def step():
    steps = doc().get("mainSteps")
    assert isinstance(steps, list) and len(steps) == 1, \
        f"want exactly one step, have {steps!r:.200}"
    return steps[0]


def script():
    cmds = step().get("inputs", {}).get("runCommand")
    assert isinstance(cmds, list) and cmds and \
        all(isinstance(c, str) for c in cmds), "runCommand is not a list of strings"
    # SSM writes the list out one element per line.
    return "\n".join(cmds) + "\n"


def render(command, exec_id, helper):
    """The script as SSM would run it, with the helper at another path."""
    s = script().replace("{{ command }}", command)
    s = s.replace("{{ executionId }}", exec_id)
    s = re.sub(r"\{\{\s*command\s*\}\}", command, s)
    s = re.sub(r"\{\{\s*executionId\s*\}\}", exec_id, s)
    assert "{{" not in s, "a parameter reference is left unsubstituted"
    return s.replace(INSTALLED_HELPER, helper)


def scripts():
    """Every Scripts entry of every schedule of the policy."""
    scheds = policy().get("PolicyDetails", {}).get("Schedules")
    assert isinstance(scheds, list) and scheds, "no Schedules"
    out = []
    for s in scheds:
        sc = s.get("CreateRule", {}).get("Scripts")
        assert isinstance(sc, list) and len(sc) == 1, \
            f"schedule {s.get('Name')}: want exactly one Scripts entry, have {sc!r}"
        out.append(sc[0])
    return out


def as_int(v, what):
    assert isinstance(v, int) and not isinstance(v, bool) or \
        isinstance(v, str) and v.isdigit(), f"{what} is not a number: {v!r}"
    return int(v)


# --- the document

def t_doc_parses():
    doc()


def t_schema():
    v = doc().get("schemaVersion")
    assert v == "2.2", f"schemaVersion is {v!r}, want the string \"2.2\""


def t_params_declared():
    params = doc().get("parameters")
    assert isinstance(params, dict), "no parameters"
    assert set(params) == {"command", "executionId"}, \
        f"parameters are {sorted(params)}, want command and executionId"
    for name, p in params.items():
        assert p.get("type") == "String", f"{name}: type {p.get('type')!r}"
        assert p.get("description"), f"{name}: no description"


def t_command_values():
    p = param("command")
    vals = p.get("allowedValues")
    assert isinstance(vals, list), "command has no allowedValues list"
    assert sorted(vals) == sorted(COMMANDS) and len(vals) == 3, \
        f"command allowedValues {vals}, want exactly {COMMANDS}"
    assert p.get("default") == "dry-run", \
        f"command default {p.get('default')!r}, want dry-run"
    assert "allowedPattern" not in p, "command has an allowedPattern too"


def t_exec_id_pattern():
    p = param("executionId")
    pat = p.get("allowedPattern")
    assert pat == EXEC_ID_PATTERN, f"executionId allowedPattern {pat!r}"
    assert p.get("default") == "None", f"executionId default {p.get('default')!r}"
    assert "allowedValues" not in p, "executionId has allowedValues"


def t_exec_id_samples():
    pat = param("executionId").get("allowedPattern")
    assert isinstance(pat, str), "no allowedPattern"
    rx = re.compile(pat)
    bad = [s for s in GOOD_IDS if not rx.search(s)]
    assert not bad, f"pattern rejects valid ids {bad}"
    bad = [s for s in BAD_IDS if rx.search(s)]
    assert not bad, f"pattern accepts invalid ids {bad}"
    # The default must itself be valid.
    assert rx.search(param("executionId").get("default", "")), \
        "the default executionId does not match the pattern"


def t_one_linux_step():
    s = step()
    assert s.get("action") == "aws:runShellScript", f"action {s.get('action')!r}"
    assert s.get("name"), "the step has no name"
    pre = s.get("precondition")
    assert pre == {"StringEquals": ["platformType", "Linux"]}, \
        f"precondition {pre!r}, want StringEquals platformType Linux"


def t_step_timeout():
    t = step().get("inputs", {}).get("timeoutSeconds")
    assert t is not None, "no timeoutSeconds"
    t = as_int(t, "timeoutSeconds")
    lo, hi = STAGE_TIMEOUT
    assert lo <= t <= hi, f"timeoutSeconds {t} outside the scheduler's {lo}..{hi}"
    # SSM must not kill the helper before the scheduler gives up on it.
    for sc in scripts():
        et = as_int(sc.get("ExecutionTimeout"), "ExecutionTimeout")
        assert et <= t, f"policy ExecutionTimeout {et} > document timeoutSeconds {t}"


def t_script_calls_helper():
    s = script()
    want = f'{INSTALLED_HELPER} "{{{{ command }}}}" --execution-id "{{{{ executionId }}}}"'
    assert want in s, f"the script does not contain: {want}"
    refs = re.findall(r"\{\{\s*(\w+)\s*\}\}", s)
    assert sorted(set(refs)) == ["command", "executionId"], f"references {refs}"
    # Every reference is inside double quotes (word splitting, globbing).
    for m in re.finditer(r"\{\{\s*\w+\s*\}\}", s):
        assert s[m.start() - 1] == '"' and s[m.end()] == '"', \
            f"unquoted parameter reference at {m.group(0)}"


def run_rendered(command, exec_id, helper, env=None):
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write(render(command, exec_id, helper))
        path = f.name
    try:
        # SSM runs the script with sh on Linux.
        return subprocess.run(["sh", path], capture_output=True, text=True,
                              timeout=30, env=env)
    finally:
        os.unlink(path)


def t_script_exit_codes():
    with tempfile.TemporaryDirectory() as d:
        fake = os.path.join(d, "snapfreeze")
        argv_log = os.path.join(d, "argv")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >"$ARGV_LOG"\n'
                    'echo "INFO: fake helper"\nexit "$FAKE_RC"\n')
        os.chmod(fake, stat.S_IRWXU)
        for cmd in COMMANDS:
            for eid in ("None", GOOD_IDS[1]):
                for rc in EXIT_CODES:
                    env = dict(os.environ, FAKE_RC=str(rc), ARGV_LOG=argv_log)
                    r = run_rendered(cmd, eid, fake, env)
                    assert r.returncode == rc, \
                        f"{cmd} {eid}: helper exited {rc}, script exited {r.returncode}"
                    with open(argv_log) as f:
                        argv = f.read().splitlines()
                    assert argv == [cmd, "--execution-id", eid], \
                        f"helper got argv {argv}"
                    assert "INFO: fake helper" in r.stdout, "helper output lost"


def t_script_no_helper():
    with tempfile.TemporaryDirectory() as d:
        missing = os.path.join(d, "no-such-snapfreeze")
        for cmd in COMMANDS:
            r = run_rendered(cmd, "None", missing)
            assert r.returncode == 206, f"{cmd}: exit {r.returncode} without the helper, want 206"
            assert re.search(r"^ERROR: .*\S", r.stdout, re.M), \
                f"no ERROR line on stdout: {r.stdout!r}"


def t_script_posix():
    for cmd in COMMANDS:
        r = subprocess.run(["sh", "-n"], input=render(cmd, "None", INSTALLED_HELPER),
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, f"sh -n: {r.stderr}"


# --- the policy

def t_policy_parses():
    policy()


def t_policy_shape():
    pd = policy().get("PolicyDetails")
    assert isinstance(pd, dict), "no PolicyDetails"
    assert pd.get("PolicyType") == "EBS_SNAPSHOT_MANAGEMENT", \
        f"PolicyType {pd.get('PolicyType')!r}"
    assert pd.get("ResourceTypes") == ["INSTANCE"], \
        f"ResourceTypes {pd.get('ResourceTypes')!r}: scripts need INSTANCE"
    tags = pd.get("TargetTags")
    assert isinstance(tags, list) and tags and \
        all(isinstance(t, dict) and t.get("Key") and "Value" in t for t in tags), \
        f"TargetTags {tags!r}"
    for s in pd.get("Schedules", []):
        assert s.get("RetainRule"), f"schedule {s.get('Name')}: no RetainRule"


def t_policy_stages():
    for sc in scripts():
        st = sc.get("Stages")
        assert isinstance(st, list) and sorted(st) == ["POST", "PRE"], \
            f"Stages {st!r}, want PRE and POST"


def t_policy_handler():
    for sc in scripts():
        assert sc.get("ExecutionHandlerService") == "AWS_SYSTEMS_MANAGER", \
            f"ExecutionHandlerService {sc.get('ExecutionHandlerService')!r}"
        h = sc.get("ExecutionHandler")
        ok = h == DOC_NAME or (isinstance(h, str) and
                               re.fullmatch(r"arn:aws[\w-]*:ssm:[\w-]+:\d{12}:document/"
                                            + re.escape(DOC_NAME), h))
        assert ok, f"ExecutionHandler {h!r} does not name the document {DOC_NAME}"


def t_policy_timeout():
    lo, hi = STAGE_TIMEOUT
    for sc in scripts():
        t = sc.get("ExecutionTimeout")
        assert isinstance(t, int) and not isinstance(t, bool) and lo <= t <= hi, \
            f"ExecutionTimeout {t!r} outside {lo}..{hi}"


def t_policy_retries():
    lo, hi = RETRIES
    for sc in scripts():
        n = sc.get("MaximumRetryCount")
        assert isinstance(n, int) and not isinstance(n, bool) and lo <= n <= hi, \
            f"MaximumRetryCount {n!r} outside {lo}..{hi}"
        f = sc.get("ExecuteOperationOnScriptFailure")
        assert isinstance(f, bool), f"ExecuteOperationOnScriptFailure {f!r}"


def t_readme_tag():
    with open(README_PATH) as f:
        text = f.read()
    assert re.search(r"--name\s+" + re.escape(DOC_NAME) + r"\b", text), \
        f"README does not create the document as {DOC_NAME}"
    assert "Key=DLMScriptsAccess,Value=true" in text, \
        "README does not tag the document DLMScriptsAccess=true"


# --- help text and man page

def mentions_codes(text):
    missing = [c for c in EXIT_CODES
               if not re.search(r"(?<![\w.-])%d(?![\w.-])" % c, text)]
    return missing


def help_text():
    if not os.access(HELPER, os.X_OK):
        raise Skip(f"{os.path.relpath(HELPER, REPO)} is not built")
    r = subprocess.run([HELPER, "--help"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, f"--help exited {r.returncode}"
    assert r.stdout.strip(), "--help printed nothing on stdout"
    return r.stdout


def t_help_exit_codes():
    missing = mentions_codes(help_text())
    assert not missing, f"--help does not mention exit codes {missing}"


def t_help_options():
    text = help_text()
    missing = [w for w in OPTIONS + WORDS if w not in text]
    assert not missing, f"--help does not mention {missing}"


def man_text():
    # Rendered, so that roff escapes (\-) do not hide the words.
    r = subprocess.run(["man", "-l", "-P", "cat", MAN_PAGE], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, MANWIDTH="200",
                                                       MAN_KEEP_FORMATTING="0"))
    if r.returncode != 0 or not r.stdout:
        with open(MAN_PAGE) as f:
            return f.read().replace("\\-", "-")
    # Drop overstrike formatting, if any.
    return re.sub(r".\x08", "", r.stdout)


def t_man_exit_codes():
    missing = mentions_codes(man_text())
    assert not missing, f"the man page does not mention exit codes {missing}"


def t_man_options():
    text = man_text()
    missing = [w for w in OPTIONS + WORDS if w not in text]
    assert not missing, f"the man page does not mention {missing}"


def t_doc_description():
    assert doc().get("description"), "the document has no description"


TESTS = [
    ("document parses as YAML", t_doc_parses),
    ("document is schemaVersion 2.2", t_schema),
    ("document has a description", t_doc_description),
    ("document declares exactly command and executionId, typed String", t_params_declared),
    ("command allowedValues are exactly pre-script post-script dry-run, default dry-run",
     t_command_values),
    ("executionId allowedPattern and default None", t_exec_id_pattern),
    ("executionId pattern accepts None and UUIDs and rejects the rest", t_exec_id_samples),
    ("exactly one aws:runShellScript step, for Linux", t_one_linux_step),
    ("step timeoutSeconds within the scheduler's limits", t_step_timeout),
    ("script calls the helper with both parameters, quoted", t_script_calls_helper),
    ("script passes every helper exit code through with the right argv",
     t_script_exit_codes),
    ("script exits 206 with an ERROR line without the helper", t_script_no_helper),
    ("script is valid POSIX sh", t_script_posix),
    ("policy parses as JSON", t_policy_parses),
    ("policy is an EBS snapshot policy for instances by tag", t_policy_shape),
    ("policy stages are PRE and POST", t_policy_stages),
    ("policy handler is the document, through Systems Manager", t_policy_handler),
    ("policy ExecutionTimeout within 10..120", t_policy_timeout),
    ("policy MaximumRetryCount within 0..3", t_policy_retries),
    ("README tags the document DLMScriptsAccess=true", t_readme_tag),
    ("snapfreeze --help mentions every exit code", t_help_exit_codes),
    ("snapfreeze --help mentions every option and command", t_help_options),
    ("man page mentions every exit code", t_man_exit_codes),
    ("man page mentions every option and command", t_man_options),
]


def main():
    s = Suite()
    print("TAP version 13")
    print(f"1..{len(TESTS)}")
    for name, fn in TESTS:
        s.check(name, fn)
    return s.summary()


if __name__ == "__main__":
    sys.exit(main())

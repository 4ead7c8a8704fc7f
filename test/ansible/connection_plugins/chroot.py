# A connection to a directory with chroot(8), for test/ansible only: Debian's
# ansible-core has no community.general and so no chroot connection. The
# host is the root directory (ansible_host); the caller gives that root its
# own /proc, /dev and /run (test/ansible does, in a private mount namespace).
from __future__ import annotations

import subprocess

from ansible.errors import AnsibleError
from ansible.plugins.connection import ConnectionBase

DOCUMENTATION = """
name: chroot
short_description: run tasks in a directory with chroot(8) (test only)
description: Runs every command as chroot ROOT /bin/sh -c CMD; ROOT is ansible_host.
author: pam_duo_go developers
options: {}
"""


class Connection(ConnectionBase):
    """chroot(8) into ansible_host for every command and file copy."""

    transport = "chroot"
    has_pipelining = True

    def _root(self):
        return self._play_context.remote_addr

    def _connect(self):
        self._connected = True
        return self

    def _run(self, argv, stdin=None, in_data=None):
        p = subprocess.Popen(
            ["chroot", self._root()] + argv,
            stdin=stdin if stdin is not None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = p.communicate(in_data)
        return p.returncode, out, err

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        return self._run(["/bin/sh", "-c", cmd], in_data=in_data or b"")

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        with open(in_path, "rb") as f:
            rc, _, err = self._run(["/bin/sh", "-c", 'cat > "$0"', out_path], stdin=f)
        if rc != 0:
            raise AnsibleError("chroot put_file %s: %s" % (out_path, err.decode(errors="replace")))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        rc, out, err = self._run(["cat", in_path], in_data=b"")
        if rc != 0:
            raise AnsibleError("chroot fetch_file %s: %s" % (in_path, err.decode(errors="replace")))
        with open(out_path, "wb") as f:
            f.write(out)

    def close(self):
        self._connected = False

#!/usr/bin/env python3
"""Runs one of the test fakes (tests/fakes/fake_kube.py or fake_collector.py)
with a longer safety lifetime than the tests' 900 s, because the memory
benchmark keeps them busy for 1,000 one-second cycles. Same command line as
the fake itself:

    longfake.py LIFETIME_SECONDS fake_kube.py|fake_collector.py ARGS...

The fakes' code is used as it is; only the lifetime serve_until_stopped()
gets changes, whatever main() passes (a --lifetime option, where the fake has
one, is overridden too). The bench driver stops them with SIGTERM.
"""

import os
import sys

FAKES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fakes')


def main():
    lifetime, script, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    sys.path.insert(0, FAKES)
    import fake_kube
    original = fake_kube.serve_until_stopped

    def longer(server, port_file, name, **_ignored):
        return original(server, port_file, name, lifetime=lifetime)

    fake_kube.serve_until_stopped = longer
    if script == 'fake_kube.py':
        return fake_kube.main(args)
    if script == 'fake_collector.py':
        import fake_collector
        fake_collector.serve_until_stopped = longer
        return fake_collector.main(args)
    print('longfake.py: unknown fake %r' % script, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())

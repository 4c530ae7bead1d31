"""Convert an official ACAR-Net checkpoint (github.com/Siyu-C/ACAR-Net) to this project's layout.

Usage::

    python tools/convert_acar_checkpoint.py IN OUT [--no-background] [--head-only]

The key mapping and what the configs must match: :mod:`ava_plugins.models.acar_checkpoint`.
"""
import argparse
import sys

from ava_plugins.engine.cli import run_cli
from ava_plugins.models.acar_checkpoint import __doc__ as MAPPING
from ava_plugins.models.acar_checkpoint import convert_checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description='Convert an official ACAR-Net checkpoint',
                                     epilog=__doc__ + '\n' + MAPPING,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='official checkpoint (.pth.tar)')
    parser.add_argument('dst', help='output mmengine checkpoint (.pth)')
    parser.add_argument('--no-background', action='store_true',
                        help='the target bbox head has no background column')
    parser.add_argument('--head-only', action='store_true', help='convert the head only')
    args = parser.parse_args(argv)
    state = convert_checkpoint(args.src, args.dst, background=not args.no_background,
                               head_only=args.head_only)
    print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    sys.exit(run_cli(main))

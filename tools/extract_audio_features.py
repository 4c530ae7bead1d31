"""Extract MFCC, log-mel or VGGish features from the audio of video / audio files, one ``.npy``
per file.

The features, their settings and the output layout: :mod:`ava_plugins.engine.audio_features`.

Examples::

    python tools/extract_audio_features.py data/kinetics600/videos_train \\
        data/kinetics600/audio_mfcc_train --feature mfcc --n-mfcc 40
    python tools/extract_audio_features.py data/kinetics600/videos_train \\
        data/kinetics600/audio_vggish_train --feature vggish --checkpoint vggish.pth \\
        --pca vggish_pca_params.pth --device cuda
"""
import argparse
import sys

from ava_plugins.engine.audio_features import FEATURES, MEDIA_EXTS
from ava_plugins.engine.audio_features import __doc__ as audio_doc
from ava_plugins.engine.audio_features import extract
from ava_plugins.engine.cli import run_cli


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=__doc__ + '\n' + audio_doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='directory of media files, or a list file (first column)')
    parser.add_argument('out_dir', help='output directory: one <relative path>.npy per input')
    parser.add_argument('--feature', choices=FEATURES, default='mfcc',
                        help='MFCC, log-mel (librosa), VGGish log-mel or VGGish embeddings '
                        '(default: mfcc)')
    parser.add_argument('--ext', nargs='+', default=list(MEDIA_EXTS),
                        help='extensions to take from a directory')
    parser.add_argument('--sr', type=int, default=16000, help='sample rate (Hz)')
    parser.add_argument('--n-mfcc', type=int, default=40, help='MFCC coefficients')
    parser.add_argument('--n-mels', type=int, default=80, help='mel bands')
    parser.add_argument('--win-ms', type=float, default=25.0, help='window length (ms)')
    parser.add_argument('--hop-ms', type=float, default=10.0, help='hop length (ms)')
    parser.add_argument('--fmin', type=float, default=0.0, help='lowest mel frequency (Hz)')
    parser.add_argument('--overwrite', action='store_true',
                        help='recompute features made with other settings (default: refuse)')
    parser.add_argument('--fmax', type=float, default=None,
                        help='highest mel frequency (Hz; default: sr / 2)')
    parser.add_argument('--checkpoint', default=None,
                        help='VGGish weights in torchvggish layout (features.*, embeddings.*; '
                        'for --feature vggish)')
    parser.add_argument('--pca', default=None,
                        help='VGGish PCA parameters (pca_eigen_vectors, pca_means; .pth or '
                        '.npz): apply the AudioSet PCA + 8-bit quantisation')
    parser.add_argument('--no-final-relu', action='store_true',
                        help="VGGish without ReLU on the embedding layer (today's TensorFlow "
                        'code; default: with it, as the 2017-2018 release and torchvggish)')
    parser.add_argument('--device', default='cpu', help='torch device for VGGish (default: cpu)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    report = extract(args.src, args.out_dir, exts=args.ext, sr=args.sr, overwrite=args.overwrite,
                     feature=args.feature,
                     n_mfcc=args.n_mfcc, n_mels=args.n_mels, win_ms=args.win_ms,
                     hop_ms=args.hop_ms, fmin=args.fmin, fmax=args.fmax,
                     checkpoint=args.checkpoint, pca=args.pca,
                     final_relu=not args.no_final_relu, device=args.device)
    print(f'\n{len(report["done"])} written, {len(report["skipped"])} already there, '
          f'{len(report["failed"])} failed')
    for message in report['failed'].values():
        print(f'  {message}', file=sys.stderr)
    return 1 if report['failed'] else 0


if __name__ == '__main__':
    sys.exit(run_cli(main))

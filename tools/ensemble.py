"""Ensemble several models: AVA detections or recognition scores.

``--task detection`` (default) combines AVA results into one AVA result CSV. Inputs are AVA
result CSVs or ``tools/test.py --dump`` pickles, one per model, in a fixed order. Methods (see
``ava_plugins/ensemble/combine.py``):

* ``mean``: plain score averaging (or ``--model-weights``);
* ``per-class``: per-class weights from per-class validation AP (ACAR-Net 2020), fitted with
  ``--fit RESULT ... --gt --label-map`` (saved with ``--save-weights``) or read with
  ``--weights``;
* ``box-fusion``: boxes of different detectors matched at ``--iou-thr`` (default 0.5), positions
  averaged, scores weighted by ``--model-weights`` summing to 1 (ByteDance 2019);
* ``replace``: classes ``--replace-classes`` taken from model ``--replace-from`` (default the
  last), all others from the first (Fujitsu 2020's arm-model merge); or, with
  ``--select-replace-from-val VAL_MAIN VAL_SPEC --gt --label-map``, the classes where the
  specialised model's validation AP beats the main model's
  (:func:`~ava_plugins.ensemble.select_classes_by_gain`; ``--select-gain``,
  ``--select-min-gain``, ``--select-top-k``: the report kept 15 of 27 arm classes).

Examples::

    python tools/ensemble.py val_a.pkl val_b.pkl --method per-class --gt ava_val_v2.2.csv \\
        --label-map ava_action_list_v2.2_for_activitynet_2019.pbtxt --fit val_a.pkl val_b.pkl \\
        --save-weights w.json --out val_ens.csv
    python tools/ensemble.py test_a.pkl test_b.pkl --method per-class --weights w.json \\
        --out test_ens.csv
    python tools/ensemble.py main_test.csv arm_test.csv --method replace \\
        --select-replace-from-val main_val.csv arm_val.csv --select-top-k 15 \\
        --gt ava_val_v2.2.csv --label-map ava_action_list_v2.2_for_activitynet_2019.pbtxt \\
        --save-selection arm_classes.json --out merged_test.csv

With ``--gt`` and ``--label-map`` the written CSV is evaluated with the project's evaluator.

``--task recognition`` late-fuses the video-level scores of recognisers (RGB, flow, audio; Qiniu
ActivityNet 2018 report): inputs are ``tools/test.py --dump`` pickles of the same split in the
same order, the fused score is the weighted average of
:func:`~ava_plugins.ensemble.score_fusion.fuse_scores` with ``--weights`` (one per model,
default equal; ``--apply-softmax`` for models tested with ``average_clips='score'``). Top-1 /
top-5 / mean class accuracy of every input and of the fusion are printed; ``--out`` writes the
fused samples in the same dump format::

    python tools/ensemble.py --task recognition rgb.pkl flow.pkl audio.pkl \\
        --weights 1 1 0.5 --out work_dirs/fused.pkl
"""
import argparse
import json
import sys

# ava_plugins (and with it torch and the OpenMMLab stack) is imported inside the functions, once
# the arguments are parsed, so that --help and usage errors answer at once.


def _task_option(parser, default):
    parser.add_argument('--task',
                        choices=['detection', 'recognition'],
                        default=default,
                        help='detection: combine AVA results (default); recognition: late '
                        'fusion of video-level scores (see --task recognition --help)')


def parse_args(argv=None):
    """Parse the options of ``--task`` (detection unless given)."""
    pre = argparse.ArgumentParser(add_help=False)
    _task_option(pre, 'detection')
    if pre.parse_known_args(argv)[0].task == 'recognition':
        return parse_recognition_args(argv)
    return parse_detection_args(argv)


def parse_recognition_args(argv=None):
    p = argparse.ArgumentParser(
        description='Late-fuse the video-level scores of several '
        'recognisers and report accuracy',
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _task_option(p, 'recognition')
    p.add_argument('results', nargs='+', help='tools/test.py --dump pickles, one per model')
    p.add_argument('--weights',
                   '--model-weights',
                   dest='weights',
                   type=float,
                   nargs='+',
                   help='one weight per model (default: equal weights)')
    p.add_argument('--apply-softmax',
                   action='store_true',
                   help="softmax each model's scores first (models tested with "
                   "average_clips='score' store logits)")
    p.add_argument('--topk', type=int, nargs='+', default=[1, 5], help='top-k accuracies')
    p.add_argument('--out', help='write the fused samples (pickle, tools/test.py --dump format)')
    return p.parse_args(argv)


def parse_detection_args(argv=None):
    p = argparse.ArgumentParser(
        description='Ensemble AVA results of several models',
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _task_option(p, 'detection')
    p.add_argument('results', nargs='+', help='result .csv or --dump .pkl, one per model')
    p.add_argument('--out', required=True, help='output AVA result CSV')
    p.add_argument('--method',
                   choices=['mean', 'per-class', 'box-fusion', 'replace'],
                   default='mean',
                   help='how scores are combined (see above; default: mean)')
    p.add_argument('--model-weights',
                   type=float,
                   nargs='+',
                   help='one weight per model (normalised to sum 1) for mean/box-fusion')
    p.add_argument('--weights', help='per-class weights JSON to apply (per-class)')
    p.add_argument('--fit',
                   nargs='+',
                   metavar='VAL_RESULT',
                   help='validation results, one per model, to fit per-class weights on')
    p.add_argument('--power',
                   type=float,
                   default=1.0,
                   help='per-class weights proportional to AP ** power')
    p.add_argument('--save-weights', help='write the fitted per-class weights to this JSON')
    p.add_argument('--replace-classes', type=int, nargs='+', help='class ids to replace')
    p.add_argument('--replace-from',
                   type=int,
                   default=-1,
                   help='index of the model giving the replaced classes (default: last)')
    p.add_argument('--select-replace-from-val',
                   nargs=2,
                   metavar=('VAL_MAIN', 'VAL_SPEC'),
                   help='replace: choose the classes from these validation results of the main '
                   'model and of the --replace-from model (needs --gt and --label-map)')
    p.add_argument('--select-gain',
                   choices=['absolute', 'relative'],
                   default='absolute',
                   help='AP gain measured as a difference or relative to the main AP')
    p.add_argument('--select-min-gain',
                   type=float,
                   default=0.0,
                   help='keep classes whose gain is above this (default 0)')
    p.add_argument('--select-top-k', type=int, help='keep at most this many classes')
    p.add_argument('--save-selection', help='write the selected classes and gains to this JSON')
    p.add_argument('--iou-thr',
                   type=float,
                   help='IoU for the same person across models (default 0.5 for box-fusion, '
                   'else 0.99: same person boxes)')
    p.add_argument('--gt', help='ground-truth CSV to evaluate the output (and to fit on)')
    p.add_argument('--label-map', help='label map (pbtxt or txt)')
    p.add_argument('--exclude', help='excluded timestamps CSV')
    p.add_argument('--action-thr',
                   type=float,
                   default=0.002,
                   help='score threshold when reading .pkl dumps')
    p.add_argument('--custom-classes',
                   type=int,
                   nargs='+',
                   help='class ids of the score columns 1.. of .pkl dumps')
    p.add_argument('--decimals', type=int, default=4, help='decimals in the output CSV')
    return p.parse_args(argv)


def _load(paths, args):
    from ava_plugins.ensemble import load_results
    return [load_results(p, args.action_thr, args.custom_classes) for p in paths]


def _weights(args, tables):
    from ava_plugins.ensemble import (fit_class_weights, load_weights, replacement_weights,
                                      save_weights, uniform_weights)
    from ava_plugins.evaluation import evaluate_ava, read_label_map
    from ava_plugins.utils import InputError
    names = list(args.results)
    labels = sorted({int(c) for t in tables for c in t.labels.tolist()})
    if args.method in ('mean', 'box-fusion'):
        return uniform_weights(names, labels, args.model_weights)
    if args.method == 'replace':
        src = args.replace_from % len(names)
        classes = _selected_classes(args) if args.select_replace_from_val else args.replace_classes
        if not classes and not args.select_replace_from_val:
            raise InputError('--method replace needs --replace-classes or '
                             '--select-replace-from-val')
        return replacement_weights(names, labels, {c: src for c in classes})
    if args.weights:
        return load_weights(args.weights, num_models=len(names))
    if not (args.fit and args.gt and args.label_map):
        raise InputError('--method per-class needs --weights JSON, or --fit VAL_RESULT ... '
                         'with --gt and --label-map')
    if len(args.fit) != len(names):
        raise InputError(f'--fit needs one validation result per model ({len(names)}), '
                         f'got {len(args.fit)}')
    label_map = read_label_map(args.label_map)
    aps = [
        evaluate_ava(args.gt, t, label_map, excluded=args.exclude).per_class
        for t in _load(args.fit, args)
    ]
    weights = fit_class_weights(names, aps, power=args.power)
    if args.save_weights:
        save_weights(args.save_weights, weights)
        print(f'per-class weights saved to {args.save_weights}')
    return weights


def _selected_classes(args):
    """Classes chosen by validation AP gain of the replacing model over the main one."""
    from ava_plugins.ensemble import select_classes_by_gain
    from ava_plugins.evaluation import evaluate_ava, read_label_map
    from ava_plugins.utils import InputError, atomic_open
    if args.replace_classes:
        raise InputError('give either --replace-classes or --select-replace-from-val, not both')
    if not (args.gt and args.label_map):
        raise InputError('--select-replace-from-val needs --gt and --label-map')
    label_map = read_label_map(args.label_map)
    main_ap, spec_ap = (evaluate_ava(args.gt, t, label_map, excluded=args.exclude).per_class
                        for t in _load(args.select_replace_from_val, args))
    selection = select_classes_by_gain(main_ap, spec_ap, gain=args.select_gain,
                                       min_gain=args.select_min_gain, top_k=args.select_top_k)
    print(selection.table(label_map))
    print(f'{len(selection.selected)} of {len(selection.gains)} classes taken from the '
          f'replacing model: {selection.selected}')
    if args.save_selection:
        with atomic_open(args.save_selection, 'w') as f:
            json.dump(dict(selected=selection.selected, gain=args.select_gain,
                           min_gain=args.select_min_gain, top_k=args.select_top_k,
                           val_results=list(args.select_replace_from_val),
                           gains={str(c): g for c, g in selection.gains.items()},
                           ap_main={str(c): a for c, a in selection.ap_main.items()},
                           ap_spec={str(c): a for c, a in selection.ap_spec.items()}),
                      f, indent=1)
    return selection.selected


def main(argv=None):
    from ava_plugins.ensemble import combine_results
    from ava_plugins.evaluation import evaluate_ava, read_label_map, write_ava_csv
    args = parse_args(argv)
    if args.task == 'recognition':
        from ava_plugins.ensemble.score_fusion import fuse_recognition_dumps
        return fuse_recognition_dumps(args.results, args.weights, args.apply_softmax, args.topk,
                                      args.out)
    tables = _load(args.results, args)
    weights = _weights(args, tables)
    iou_thr = args.iou_thr if args.iou_thr is not None else (
        0.5 if args.method == 'box-fusion' else 0.99)
    table = combine_results(tables, weights, iou_thr=iou_thr)
    write_ava_csv(args.out, table, decimals=args.decimals)
    print(f'{len(table)} detections of {len(tables)} models written to {args.out}')
    if args.gt and args.label_map:
        result = evaluate_ava(args.gt,
                              args.out,
                              read_label_map(args.label_map),
                              excluded=args.exclude)
        print(result.table())
        print(json.dumps({'mAP': result.mAP}))
        return result
    return None


if __name__ == '__main__':
    parse_args()  # --help and usage errors answer before the stack is imported
    from ava_plugins.engine.cli import run_cli
    sys.exit(run_cli(main))

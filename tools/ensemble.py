"""Ensemble the AVA results of several models into one AVA result CSV (issue 9).

Inputs are AVA result CSVs or ``tools/test.py --dump`` pickles, one per model, in a fixed order.
Methods (see ``ava_plugins/ensemble/combine.py``):

* ``mean``: plain score averaging (or ``--model-weights``);
* ``per-class``: per-class weights from per-class validation AP (ACAR-Net 2020), fitted with
  ``--fit RESULT ... --gt --label-map`` (saved with ``--save-weights``) or read with
  ``--weights``;
* ``box-fusion``: boxes of different detectors matched at ``--iou-thr`` (default 0.5), positions
  averaged, scores weighted by ``--model-weights`` summing to 1 (ByteDance 2019);
* ``replace``: classes ``--replace-classes`` taken from model ``--replace-from`` (default the
  last), all others from the first (Fujitsu 2020's arm-model merge).

Examples::

    python tools/ensemble.py val_a.pkl val_b.pkl --method per-class --gt ava_val_v2.2.csv \\
        --label-map ava_action_list_v2.2_for_activitynet_2019.pbtxt --fit val_a.pkl val_b.pkl \\
        --save-weights w.json --out val_ens.csv
    python tools/ensemble.py test_a.pkl test_b.pkl --method per-class --weights w.json \\
        --out test_ens.csv

With ``--gt`` and ``--label-map`` the written CSV is evaluated with the project's evaluator.
"""
import argparse
import json
import sys

from ava_plugins.ensemble import (combine_results, fit_class_weights, load_results, load_weights,
                                  replacement_weights, save_weights, uniform_weights)
from ava_plugins.evaluation import evaluate_ava, read_label_map, write_ava_csv


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Ensemble AVA results of several models')
    p.add_argument('results', nargs='+', help='result .csv or --dump .pkl, one per model')
    p.add_argument('--out', required=True, help='output AVA result CSV')
    p.add_argument('--method',
                   choices=['mean', 'per-class', 'box-fusion', 'replace'],
                   default='mean')
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
    return [load_results(p, args.action_thr, args.custom_classes) for p in paths]


def _weights(args, tables):
    names = list(args.results)
    labels = sorted({int(c) for t in tables for c in t.labels.tolist()})
    if args.method in ('mean', 'box-fusion'):
        return uniform_weights(names, labels, args.model_weights)
    if args.method == 'replace':
        if not args.replace_classes:
            raise ValueError('--method replace needs --replace-classes')
        src = args.replace_from % len(names)
        return replacement_weights(names, labels, {c: src for c in args.replace_classes})
    if args.weights:
        return load_weights(args.weights, num_models=len(names))
    if not (args.fit and args.gt and args.label_map):
        raise ValueError('--method per-class needs --weights JSON, or --fit VAL_RESULT ... '
                         'with --gt and --label-map')
    if len(args.fit) != len(names):
        raise ValueError(f'--fit needs one validation result per model ({len(names)}), '
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


def main(argv=None):
    args = parse_args(argv)
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
    try:
        main()
    except ValueError as err:  # bad input: the message names the file/option, no traceback
        sys.exit(f'tools/ensemble.py: error: {err}')

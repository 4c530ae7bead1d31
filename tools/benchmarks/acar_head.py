"""Forward+backward time of the batched ACARHead against a per-clip loop of the same math.

The per-clip loop is the official ACAR-Net head's computation (github.com/Siyu-C/ACAR-Net,
``models/heads/acar.py``): for every clip, crop and tile the context, concatenate it with each
actor's feature, conv1 on the 2048-channel concatenation, conv2, max pooling and the HR2O_NL
blocks with all-pairs attention over the clip's actors. Both use the same parameters (those of
one ``ACARHead``), so the script also prints their largest output difference.

Workload: 8 clips with 2-12 actors each (50 in all), 16x16 context maps of 2304
channels (SlowFast R50/R101 res5 with spatial stride 1 on 256x256 input), full-size head
(1024 reduced, 512 hidden, depth 2). Usage::

    python tools/benchmarks/acar_head.py [--device cuda] [--repeats 5] [--threads N]
"""
import argparse
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from ava_plugins.models import ACARHead
from ava_plugins.models.roi_heads.shared_heads.acar_head import clip_geometry

COUNTS = (2, 12, 5, 8, 3, 9, 4, 7)  # 50 actors in 8 clips
FEAT = 16
INPUT = 256


def loop_context_and_actors(head: ACARHead, feat: torch.Tensor, rois: torch.Tensor):
    """Official: conv_reduce on V, roi_align on the reduced map, max pool (same as ours)."""
    v = head.conv_reduce(feat.mean(dim=2))
    h, w = v.shape[-2:]
    scaled = rois.detach().clone()
    scaled[:, 1::2] *= w / INPUT
    scaled[:, 2::2] *= h / INPUT
    return v, head.roi_layer(v, scaled).amax(dim=(2, 3))


def loop_first_order(head: ACARHead, v, actors, rois, metas):
    """Official: per clip, crop and tile V, concatenate A_i, conv1, conv2, max pooling."""
    h, w = v.shape[-2:]
    maps = []
    for b, meta in enumerate(metas):
        idx = (rois[:, 0] == b).nonzero()[:, 0]
        if len(idx) == 0:
            continue
        eff_h = math.ceil(h * meta['img_shape'][0] / INPUT)
        eff_w = math.ceil(w * meta['img_shape'][1] / INPUT)
        bg = v[b][:, :eff_h, :eff_w].unsqueeze(0).repeat(len(idx), 1, 1, 1)
        tiled = actors[idx][:, :, None, None].expand_as(bg)
        x = F.relu(head.conv1(torch.cat([bg, tiled], dim=1)))
        maps.append(head.downsample(F.relu(head.conv2(x))))
    return maps


def loop_high_order(head: ACARHead, maps):
    """Official: per clip, HR2O_NL blocks (all-pairs broadcast attention) and average pool."""
    high = []
    for x in maps:
        for blk in head.hr2o:
            q = blk.conv_q(x).unsqueeze(1)
            k = blk.conv_k(x).unsqueeze(0)
            att = ((q * k).sum(2) / blk.channels**0.5).softmax(dim=1)
            virt = (att.unsqueeze(2) * blk.conv_v(x)).sum(1)
            x = x + blk.dp(blk.conv(F.relu(blk.norm(virt))))
        high.append(x.mean(dim=(2, 3)))
    return torch.cat(high)


def per_clip_loop(head: ACARHead, feat: torch.Tensor, rois: torch.Tensor, metas) -> torch.Tensor:
    """The official per-clip computation with ``head``'s parameters (input as ``head``)."""
    v, actors = loop_context_and_actors(head, feat, rois)
    high = loop_high_order(head, loop_first_order(head, v, actors, rois, metas))
    out = torch.cat([F.relu(head.fc1(actors)), high], dim=1)
    return out[:, :, None, None, None]


def make_inputs(device, seed=0):
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(len(COUNTS), 2304, 1, FEAT, FEAT, generator=g)
    rois = []
    for b, n in enumerate(COUNTS):
        xy = torch.rand(n, 2, generator=g) * INPUT * 0.6
        wh = torch.rand(n, 2, generator=g) * INPUT * 0.3 + 16
        rois.append(torch.cat([torch.full((n, 1), float(b)), xy, (xy + wh).clamp(max=INPUT)], 1))
    metas = [dict(img_shape=(INPUT, INPUT)) for _ in COUNTS]
    return feat.to(device), torch.cat(rois).to(device), metas


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def fwd_bwd_seconds(fn, feat, device):
    x = feat.detach().requires_grad_(True)
    sync(device)
    t0 = time.perf_counter()
    fn(x).sum().backward()
    sync(device)
    return time.perf_counter() - t0


def time_interleaved(fns, feat, device, repeats):
    """Alternate the functions ``repeats`` times after one warm-up each (fair under load)."""
    for fn in fns:
        fwd_bwd_seconds(fn, feat, device)
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            ts.append(fwd_bwd_seconds(fn, feat, device))
    return times


def _leaf(t):
    return t.detach().requires_grad_(True)


def _fwd_bwd(fn, *inputs):
    """Seconds of ``fn(*inputs)`` forward + backward of the sum of its output(s)."""
    t0 = time.perf_counter()
    out = fn(*inputs)
    outs = out if isinstance(out, (list, tuple)) else [out]
    sum(o.sum() for o in outs).backward()
    return time.perf_counter() - t0


def stage_times(head: ACARHead, feat, rois, metas, repeats):
    """Forward+backward seconds (min over repeats) of each stage, loop vs batched.

    Stages: context and actors (conv_reduce 1x1, RoIAlign; shared code); first order (official:
    conv1 1x1 on the 2048-channel concatenation per clip; ours: context term per clip + actor
    vector) with conv2 3x3 and pooling; high order (HR2O_NL: 3x3 q/k/v/out convolutions and the
    attention). Each stage starts from detached inputs, so the times add up to about the total.
    """
    v, actors = (t.detach() for t in loop_context_and_actors(head, feat, rois))
    clip_ids = rois[:, 0].long()
    valid_hw, _ = clip_geometry(metas, tuple(v.shape[-2:]))
    loop_maps = [m.detach() for m in loop_first_order(head, v, actors, rois, metas)]
    maps, valid = head.first_order(v, actors, clip_ids, valid_hw)
    maps = maps.detach()
    stages = {
        'context + actors (1x1, RoIAlign)': (
            lambda f: loop_context_and_actors(head, f, rois),
            lambda f: head.actor_features(head.context(f), rois,
                                          clip_geometry(metas, (FEAT, FEAT))[1])),
        'first order (conv1, conv2 3x3)': (
            lambda a, b: loop_first_order(head, a, b, rois, metas),
            lambda a, b: head.first_order(a, b, clip_ids, valid_hw)[0]),
        'high order (HR2O 3x3 + attention)': (
            lambda m: loop_high_order(head, m),
            lambda m: head.high_order(m, clip_ids, valid)),
    }
    inputs = {'context + actors (1x1, RoIAlign)': ((feat, ), (feat, )),
              'first order (conv1, conv2 3x3)': ((v, actors), (v, actors)),
              'high order (HR2O 3x3 + attention)': ((loop_maps, ), (maps, ))}
    rows = []
    for name, (loop_fn, ours_fn) in stages.items():
        loop_in, ours_in = inputs[name]
        t_loop, t_ours = [], []
        for _ in range(repeats + 1):
            t_loop.append(_fwd_bwd(loop_fn, *[_leaf(x) if torch.is_tensor(x)
                                              else [_leaf(y) for y in x] for x in loop_in]))
            t_ours.append(_fwd_bwd(ours_fn, *[_leaf(x) for x in ours_in]))
        rows.append((name, min(t_loop[1:]), min(t_ours[1:])))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--no-breakdown', action='store_true')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s choice)')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    head = ACARHead().to(device).eval()  # eval: dropout off, outputs comparable
    feat, rois, metas = make_inputs(device)

    def ours(x):
        return head(None, feat=x, rois=rois, img_metas=metas)

    def loop(x):
        return per_clip_loop(head, x, rois, metas)

    with torch.no_grad():
        diff = (ours(feat) - loop(feat)).abs().max().item()
    t_loop, t_ours = time_interleaved((loop, ours), feat, device, args.repeats)
    print(f'device: {device} (threads: {torch.get_num_threads()}); {len(COUNTS)} clips, '
          f'{sum(COUNTS)} actors {COUNTS}, context {FEAT}x{FEAT}x2304')
    print(f'max |batched - per-clip| = {diff:.2e}')
    for name, agg in (('min', min), ('median', statistics.median)):
        a, b = agg(t_loop), agg(t_ours)
        print(f'forward+backward, {name} of {args.repeats}: per-clip loop {a:.3f} s, '
              f'batched {b:.3f} s, speed-up {a / b:.2f}x')
    if not args.no_breakdown:
        print('per stage, forward+backward, min of repeats: per-clip loop / batched')
        for name, a, b in stage_times(head, feat, rois, metas, args.repeats):
            print(f'  {name:<36} {a:7.3f} s  {b:7.3f} s  ({a / b:.2f}x)')

if __name__ == '__main__':
    from ava_eval.cli import run_cli
    sys.exit(run_cli(main))

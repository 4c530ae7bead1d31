"""Dynamic-programming linking of keyframe person proposals into action tubes.

ByteDance AI Lab AVA Challenge 2019 Technical Report
(https://research.google.com/ava/challenge.html), Sec. 1.2 "Multi-sec training": "we link region
proposals of key frames of multiple seconds into an action tube with dynamic programming", then
sample T = 5 or 9 keyframes centred on the current one. The report gives no formula; we use the
classic linking score of Gkioxari & Malik ("Finding action tubes", CVPR 2015): a tube maximises
the sum of its detection scores plus ``lambda`` times the IoU of its boxes at consecutive
keyframes.

Precise rule. Every proposal ``a`` at keyframe ``t`` anchors one tube over the keyframes
``t - T//2 .. t + T//2``. Each side (forward, backward) is optimised independently, since the two
halves share only the anchor:

* a path on the forward side is a sequence of boxes at strictly increasing keyframes
  ``t < t_1 < t_2 < ...``, each step jumping ``d = t_{k+1} - t_k`` keyframes with
  ``1 <= d <= max_gap + 1`` (``max_gap`` missed keyframes at most may be bridged; the tube has no
  box there); consecutive boxes must overlap with IoU ``>= min_iou``;
* its value is ``sum_k (score(b_k) + lambda * IoU(b_{k-1}, b_k))`` with ``b_0 = a``;
* the tube ends at the last keyframe any path reaches: among paths whose last box lies furthest
  from the anchor (within ``T//2``), the one of highest value is kept. A tube therefore ends when
  no box of the next ``max_gap + 1`` keyframes overlaps its last box by ``min_iou``; missing
  keyframes (no proposals) and video borders end it the same way.
* a skipped keyframe (a missed detection bridged by a jump ``d > 1``) gets the box linearly
  interpolated between the boxes before and after it, with score NaN (no detection there);
  ``max_gap`` defaults to 1 (our choice: the report gives no linking rule; one missed keyframe,
  1 s in AVA, is bridged, so a single missed detection no longer cuts a T = 9 tube short and
  leaves its far keyframes to borrow the nearest box and volume).

Ties go to the lowest proposal index and to the shortest jump, so results do not depend on
floating-point accident and follow the input order.

Vectorisation. Since every proposal is an anchor, the Viterbi recursion is run backwards in
"remaining length" (Bellman tail values), once for all boxes of a video: ``V_h[t, i]`` is the best
value of a path that starts at box ``i`` of keyframe ``t`` and whose last box is exactly ``h``
keyframes later, ``V_h[t, i] = max_{d, j} (score[t + d, j] + lambda * IoU + V_{h-d}[t + d, j])``
over the linkable pairs. The IoU of every pair of consecutive keyframes is one batched
``(K, M, M)`` computation (shared by both sides, the backward one reads it transposed); the
linkable pairs become edge lists sorted by source, so each ``(h, d)`` step is a gather and two
segment reductions (``np.maximum.reduceat``); the tubes of all anchors are then read off the
argmax pointers together, ``T//2`` fancy-indexing steps per side. About 20-30 ms of CPU for a
900-keyframe video with 20 proposals per keyframe (``tools/benchmarks/tube_linking.py``).
"""
from typing import Dict, Tuple

import numpy as np
from ava_eval.keyframe_pickles import check_proposal_rows, parse_key

from .boxes import pairwise_iou

__all__ = [
    'DEFAULT_MAX_GAP', 'bridge_gaps', 'check_linking_params', 'group_by_video',
    'link_tubes', 'link_video', 'tube_slot_counts', 'tube_offsets'
]

DEFAULT_MAX_GAP = 1  # our choice, see the module docstring


def bridge_gaps(rows: np.ndarray) -> np.ndarray:
    """Linearly interpolate each tube's box over the keyframes it skipped, in place.

    Args:
        rows: ``(N, T, 5)`` tubes, NaN rows where no box. A NaN row with boxes on both sides
            (a gap bridged by ``max_gap``) gets ``(1 - w) * before + w * after`` with ``w`` the
            fraction of the way from the box before to the box after; its score stays NaN (no
            detection there), which marks it as interpolated. Rows outside the tube's ends stay
            NaN.

    Returns:
        ``rows``.
    """
    span = rows.shape[1]
    has = np.isfinite(rows[..., :4]).all(-1)
    cols = np.arange(span)
    before = np.maximum.accumulate(np.where(has, cols, -1), axis=1)
    after = np.minimum.accumulate(np.where(has, cols, span)[:, ::-1], axis=1)[:, ::-1]
    gap = ~has & (before >= 0) & (after < span)
    if gap.any():
        n, c = np.nonzero(gap)
        b, a = before[n, c], after[n, c]
        w = ((c - b) / (a - b))[:, None]
        rows[n, c, :4] = (1 - w) * rows[n, b, :4] + w * rows[n, a, :4]
    return rows


def tube_slot_counts(tubes: Dict[str, np.ndarray], columns=None) -> Dict[str, int]:
    """Count the (proposal, keyframe) slots of linked tubes by what fills them.

    Args:
        tubes: ``{key: (N, T, 5)}`` as :func:`link_tubes` returns.
        columns: keyframe columns to count (e.g. those ``LoadTubeRes4`` samples); default all.

    Returns:
        ``slots``; ``detected`` (a linked proposal), ``interpolated`` (a bridged gap, score NaN)
        and ``missing`` (no box: beyond the tube's end, so a loader borrows another keyframe's).
    """
    counts = dict(slots=0, detected=0, interpolated=0, missing=0)
    for tube in tubes.values():
        tube = np.asarray(tube)
        if columns is not None:
            tube = tube[:, columns]
        box = np.isfinite(tube[..., :4]).all(-1)
        scored = np.isfinite(tube[..., 4])
        counts['slots'] += int(box.size)
        counts['detected'] += int((box & scored).sum())
        counts['interpolated'] += int((box & ~scored).sum())
        counts['missing'] += int((~box).sum())
    return counts


def tube_offsets(span: int) -> np.ndarray:
    """Keyframe offsets ``-span//2 .. span//2`` of a tube of ``span`` (odd) keyframes."""
    check_linking_params(span, 1.0, 0.0, 0)
    half = span // 2
    return np.arange(-half, half + 1)


def check_linking_params(span, lam, min_iou, max_gap) -> None:
    """Raise ValueError naming the first invalid linking parameter."""
    if isinstance(span, bool) or not isinstance(span, (int, np.integer)) or span < 1 \
            or span % 2 == 0:
        raise ValueError(f'span must be an odd positive integer (the tube is centred on its '
                         f'anchor keyframe), got {span!r}')
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f'lambda must be a finite number >= 0, got {lam!r}')
    if not 0 <= min_iou <= 1:
        raise ValueError(f'min_iou must lie in [0, 1], got {min_iou!r}')
    if isinstance(max_gap, bool) or not isinstance(max_gap, (int, np.integer)) or max_gap < 0:
        raise ValueError(f'max_gap must be an integer >= 0, got {max_gap!r}')


def _forward_pointers(ious, scores, valid, half, lam, min_iou):
    """Argmax pointers of the Bellman recursion on the forward side.

    Only linkable pairs (IoU >= ``min_iou``) are kept, as edge lists sorted by source box, so a
    step costs a gather and two segment reductions over the edges instead of a dense
    ``(K, M, M)`` max-plus product (people rarely overlap, so edges are few).

    Args:
        ious: ``ious[d - 1]`` is the ``(K - d, M, M)`` IoU (possibly a strided view) between
            the boxes of keyframes ``t`` and ``t + d``, for the allowed jumps ``d``.
        scores: ``(K, M)``; valid: ``(K, M)`` bool (padding is False).

    Returns:
        ``length (K, M)``: keyframes from each box to its tube's last box (0..half);
        ``jump (half+1, K, M)`` and ``nxt (half+1, K, M)``: for a box with ``h`` keyframes to go,
        the jump ``d`` and index ``j`` of its next box (``h = 0``: jump 0 to itself).
    """
    num_kf, m = scores.shape
    edges = []  # per jump d: sources, targets, weights, segment starts, segment sources
    for d, iou in enumerate(ious, start=1):
        ok = valid[:-d, :, None] & valid[d:, None, :] & (iou >= min_iou)
        t, i, j = np.nonzero(ok)  # row-major: sorted by source (t, i), then by target j
        if t.size == 0:
            continue
        src = t * m + i
        dst = (t + d) * m + j
        weight = lam * iou[t, i, j] + scores[t + d, j]
        starts = np.flatnonzero(np.concatenate([[True], src[1:] != src[:-1]]))
        edges.append((d, dst, j, weight, starts, src[starts], np.diff(np.append(starts,
                                                                                src.size))))

    values = np.full((half + 1, num_kf * m), -np.inf)
    values[0][valid.ravel()] = 0.0
    jump = np.zeros((half + 1, num_kf * m), dtype=np.intp)
    nxt = np.zeros((half + 1, num_kf, m), dtype=np.intp)
    nxt[0] = np.arange(m)
    nxt = nxt.reshape(half + 1, -1)
    for h in range(1, half + 1):
        for d, dst, j, weight, starts, seg_src, seg_len in edges:
            if d > h:
                continue
            cand = weight + values[h - d][dst]
            best = np.maximum.reduceat(cand, starts)
            # First edge (lowest j) reaching the segment maximum.
            first = np.minimum.reduceat(
                np.where(cand == np.repeat(best, seg_len), np.arange(cand.size), cand.size),
                starts)
            better = best > values[h][seg_src]  # strict: ties keep the shorter jump
            rows = seg_src[better]
            values[h][rows] = best[better]
            jump[h][rows] = d
            nxt[h][rows] = j[first[better]]
    reach = np.isfinite(values).reshape(half + 1, num_kf, m)
    length = np.where(reach.any(axis=0), half - np.argmax(reach[::-1], axis=0), 0)
    return (length, jump.reshape(half + 1, num_kf, m), nxt.reshape(half + 1, num_kf, m))


def _trace(length, jump, nxt, anchor_t, anchor_i, half):
    """Read the forward tubes of the anchors off the pointers (``half`` gather steps).

    Returns:
        ``(A, half)`` keyframe and box indices at offsets ``1..half`` (-1 where no box).
    """
    _, num_kf, m = jump.shape
    jump, nxt = jump.ravel(), nxt.ravel()
    num = anchor_t.shape[0]
    # Column ``half`` collects the steps of finished tubes (jump 0) and is dropped at the end.
    kf = np.full((num, half + 1), -1, dtype=np.intp)
    idx = np.full((num, half + 1), -1, dtype=np.intp)
    base = np.arange(num) * (half + 1)
    t, i = anchor_t.copy(), anchor_i.copy()
    rem = length[t, i]
    for _ in range(half):
        p = (rem * num_kf + t) * m + i
        d = jump[p]
        i = nxt[p]
        t = t + d
        rem = rem - d
        col = np.where(d > 0, t - anchor_t - 1, half) + base
        kf.ravel()[col] = t
        idx.ravel()[col] = i
    return kf[:, :half], idx[:, :half]


def link_video(proposals: Dict[int, np.ndarray],
               span: int,
               lam: float = 1.0,
               min_iou: float = 0.3,
               max_gap: int = DEFAULT_MAX_GAP) -> Tuple[Dict[int, np.ndarray], Dict[int, np.ndarray]]:
    """Link the proposals of one video into tubes centred on every proposal.

    Args:
        proposals: ``{timestamp: (N_t, 5) x1, y1, x2, y2, score}``; integer keyframe timestamps
            (a timestamp absent in the range means no proposals there). Validated by the caller
            (:func:`ava_plugins.structures.link_tubes` validates pkl input).
        span: odd number ``T`` of keyframes per tube.
        lam: weight ``lambda`` of the IoU term.
        min_iou: least IoU between consecutive boxes of a tube.
        max_gap: most consecutive keyframes a tube may skip (0: none); a skipped keyframe gets
            the interpolated box (:func:`bridge_gaps`).

    Returns:
        ``tubes``: ``{timestamp: (N_t, T, 5)}``, row ``k`` of proposal ``n`` is its tube's box
        and score at keyframe ``timestamp - T//2 + k`` (row ``T//2`` is the proposal itself),
        NaN where the tube has no box (score NaN alone: an interpolated box); same dtype as the
        input array when floating, else float64. ``indices``: ``{timestamp: (N_t, T)}`` int64 index of that box among the
        proposals of its keyframe, -1 where none.
    """
    check_linking_params(span, lam, min_iou, max_gap)
    half = span // 2
    if not proposals:
        return {}, {}
    stamps = np.array(sorted(proposals), dtype=np.int64)
    t0 = int(stamps[0])
    num_kf = int(stamps[-1]) - t0 + 1
    counts = np.zeros(num_kf, dtype=np.int64)
    counts[stamps - t0] = [len(proposals[int(s)]) for s in stamps]
    m = max(int(counts.max()), 1)
    # Pack every proposal into (K, M) slots with one concatenation and one scatter.
    flat = np.concatenate([proposals[s] for s in stamps.tolist()], dtype=np.float64)
    kf_of = np.repeat(np.arange(num_kf), counts)
    slot = np.arange(flat.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    packed = np.zeros((num_kf, m, 5))
    packed[kf_of, slot] = flat
    valid = np.zeros((num_kf, m), dtype=bool)
    valid[kf_of, slot] = True

    out_kf = np.full((flat.shape[0], span), -1, dtype=np.int64)
    out_idx = np.full((flat.shape[0], span), -1, dtype=np.int64)
    out_kf[:, half], out_idx[:, half] = kf_of, slot
    if half > 0:
        max_jump = min(max_gap + 1, half, num_kf - 1)
        boxes = packed[..., :4]
        ious = [pairwise_iou(boxes[:-d], boxes[d:]) for d in range(1, max_jump + 1)]
        for direction in (1, -1):
            sl = slice(None, None, direction)
            if direction == -1:  # the backward side is the forward side of the reversed video
                ious = [iou[::-1].transpose(0, 2, 1) for iou in ious]  # views: no copy
            length, jump, nxt = _forward_pointers(ious, packed[sl, :, 4], valid[sl], half, lam,
                                                  min_iou)
            anchor_t = kf_of if direction == 1 else num_kf - 1 - kf_of
            kf, idx = _trace(length, jump, nxt, anchor_t, slot, half)
            if direction == 1:
                out_kf[:, half + 1:], out_idx[:, half + 1:] = kf, idx
            else:
                out_kf[:, :half] = np.where(kf >= 0, num_kf - 1 - kf, -1)[:, ::-1]
                out_idx[:, :half] = idx[:, ::-1]

    # One gather from the packed table, in the output dtype, with a trailing NaN row for "no
    # box"; a single cast serves the usual case of one input dtype.
    dtypes = {proposals[s].dtype for s in stamps.tolist()}
    dtype = dtypes.pop() if len(dtypes) == 1 else np.dtype(np.float64)
    table = np.concatenate([packed.reshape(-1, 5), np.full((1, 5), np.nan)])
    table = table.astype(dtype if dtype.kind == 'f' else np.float64, copy=False)
    rows = table[np.where(out_idx >= 0, out_kf * m + out_idx, num_kf * m)]
    if max_gap > 0:
        bridge_gaps(rows)
    ends = np.cumsum(counts[stamps - t0]).tolist()
    starts = [0] + ends[:-1]
    tubes = {s: rows[a:b] for s, a, b in zip(stamps.tolist(), starts, ends)}
    indices = {s: out_idx[a:b] for s, a, b in zip(stamps.tolist(), starts, ends)}
    if dtypes:  # several input dtypes: each keyframe gets its own
        for s in tubes:
            own = proposals[s].dtype
            tubes[s] = tubes[s].astype(own if own.kind == 'f' else np.float64)
    return tubes, indices


def _parse_key(key) -> Tuple[str, int]:
    return parse_key(key, 'proposals')


def _check_array(key, value) -> None:
    if not isinstance(value, np.ndarray):
        raise ValueError(f'proposals[{key!r}]: expected a numpy.ndarray of shape (N, 5), '
                         f'got {type(value).__name__}')
    if value.ndim != 2 or value.shape[1] != 5:
        raise ValueError(f'proposals[{key!r}]: expected shape (N, 5) = x1, y1, x2, y2, score, '
                         f'got {value.shape}')
    if value.dtype.kind not in 'fiu':
        raise ValueError(f'proposals[{key!r}]: expected a real dtype, got {value.dtype}')


def _check_values(key, value) -> None:
    check_proposal_rows(value, f'proposals[{key!r}]', normalised=False)


def group_by_video(proposals) -> Dict[str, Dict[int, Tuple[str, np.ndarray]]]:
    """Validate an mmaction2 proposal dict and group it per video.

    Args:
        proposals: ``{"video_id,timestamp": (N, 5) ndarray}`` as in mmaction2's proposal pkl.

    Returns:
        ``{video_id: {timestamp: (key, array)}}``.

    Raises:
        ValueError: naming the offending key for a malformed key, a duplicated timestamp, a
            non-array value, a wrong shape or dtype, a non-finite value or a flipped box.
    """
    if not isinstance(proposals, dict):
        raise ValueError(f'proposals: expected a dict {{"video_id,timestamp": ndarray (N, 5)}}, '
                         f'got {type(proposals).__name__}')
    videos: Dict[str, Dict[int, Tuple[str, np.ndarray]]] = {}
    for key, value in proposals.items():
        video, stamp = _parse_key(key)
        _check_array(key, value)
        per_video = videos.setdefault(video, {})
        if stamp in per_video:
            raise ValueError(f'proposal keys {per_video[stamp][0]!r} and {key!r} name the same '
                             f'keyframe')
        per_video[stamp] = (key, value)
    if proposals:
        # Values are checked on one concatenation; the per-key check only names the culprit.
        keys = list(proposals)
        flat = np.concatenate([proposals[k] for k in keys], dtype=np.float64)
        bad = ~np.isfinite(flat).all(axis=1)
        with np.errstate(invalid='ignore'):
            bad |= (flat[:, 2] < flat[:, 0]) | (flat[:, 3] < flat[:, 1])
        if bad.any():
            ends = np.cumsum([len(proposals[k]) for k in keys])
            key = keys[int(np.searchsorted(ends, np.argmax(bad), side='right'))]
            _check_values(key, proposals[key])
    return videos


def link_tubes(proposals,
               span: int,
               lam: float = 1.0,
               min_iou: float = 0.3,
               max_gap: int = DEFAULT_MAX_GAP) -> Dict[str, np.ndarray]:
    """Link an mmaction2 proposal dict into tubes (see the module docstring for the rule).

    Args:
        proposals: ``{"video_id,timestamp": (N, 5)}`` normalised x1, y1, x2, y2, score.
        span, lam, min_iou, max_gap: as in :func:`link_video`.

    Returns:
        ``{"video_id,timestamp": (N, T, 5)}`` with the same keys and proposal order.
    """
    check_linking_params(span, lam, min_iou, max_gap)
    out = {}
    for per_video in group_by_video(proposals).values():
        tubes, _ = link_video({
            s: a
            for s, (_, a) in per_video.items()
        }, span, lam, min_iou, max_gap)
        out.update({key: tubes[s] for s, (key, _) in per_video.items()})
    return {key: out[key] for key in proposals}

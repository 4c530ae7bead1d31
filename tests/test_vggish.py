"""VGGish (Qiniu 2018 report §2.2): the exact log-mel front end against hand-worked values and
an independent restatement of the AudioSet release's ``mel_features.py``, the network's layout
and output, and loading a checkpoint in torchvggish's key layout."""
import numpy as np
import pytest
import torch

import ava_plugins  # noqa: F401
from ava_plugins.models.recognition import vggish_frontend as fe

SR = 16000


def reference_log_mel(y):
    """The release's recipe restated with loops and an explicit DFT (no np.fft, no shared
    code): 400-sample frames every 160, periodic Hann, |DFT| on 257 bins of a 512-point
    transform, HTK-mel triangles 125-7500 Hz (64 bands, DC bin excluded), ln(. + 0.01)."""
    n_win, hop, n_fft = 400, 160, 512
    window = np.array([0.5 - 0.5 * np.cos(2 * np.pi * n / n_win) for n in range(n_win)])
    k = np.arange(n_fft // 2 + 1)[:, None]
    dft = np.exp(-2j * np.pi * k * np.arange(n_win)[None] / n_fft)  # zero padding implicit

    def mel(hz):
        return 1127.0 * np.log(1.0 + hz / 700.0)

    lo, hi = mel(125.0), mel(7500.0)
    edges = [lo + (hi - lo) * i / 65 for i in range(66)]
    weights = np.zeros((257, 64))
    for b in range(64):
        for j in range(1, 257):
            m = mel(j * 8000.0 / 256)
            up = (m - edges[b]) / (edges[b + 1] - edges[b])
            down = (edges[b + 2] - m) / (edges[b + 2] - edges[b + 1])
            weights[j, b] = max(0.0, min(up, down))
    rows = []
    for start in range(0, len(y) - n_win + 1, hop):
        spectrum = np.abs(dft @ (y[start:start + n_win] * window))
        rows.append(np.log(spectrum @ weights + 0.01))
    return np.array(rows)


def test_front_end_equals_a_restatement_of_mel_features_and_frames_examples():
    rng = np.random.default_rng(0)
    y = rng.uniform(-1, 1, 2 * SR + 500)  # 2.03 s of noise
    log_mel = fe.log_mel(y)
    assert log_mel.shape == (1 + (len(y) - 400) // 160, 64) == (201, 64)
    np.testing.assert_allclose(log_mel, reference_log_mel(y), rtol=0, atol=2e-5)
    # silence is ln(0.01) in every band (hand case); partial frames and examples are dropped
    np.testing.assert_allclose(fe.log_mel(np.zeros(1000)), np.log(0.01), rtol=1e-6)
    assert fe.log_mel(np.zeros(399)).shape == (0, 64)
    ex = fe.waveform_to_examples(y)
    assert ex.shape == (2, 96, 64) and ex.dtype == np.float32  # 201 frames: 2 whole examples
    np.testing.assert_array_equal(ex.reshape(-1, 64), log_mel[:192])
    with pytest.raises(ValueError, match='16000 Hz'):
        fe.waveform_to_examples(y, 22050)


def test_pure_1khz_tone_peaks_in_its_mel_band_with_the_hand_computed_value():
    """A 0.5-amplitude 1 kHz sine: its period (16 samples) divides the hop (160), so every
    frame is the same, and 1 kHz is FFT bin 32 (31.25 Hz bins). The windowed tone's DFT is
    X[k] = A / 2j (H(w_k - w0) - H(w_k + w0)) with H the periodic Hann's DTFT
    0.5 G(w) - 0.25 G(w - 2pi/N) - 0.25 G(w + 2pi/N), G the geometric sum
    (1 - e^{-iwN}) / (1 - e^{-iw}) (N = 400): at bin 32, |X| = A * sum(window) / 2 = A N / 4 = 50
    exactly, the neighbours leak (the window is shorter than the FFT). 1 kHz is 999.99 mel,
    20.4637 band steps above mel(125 Hz) (step (mel(7500) - mel(125)) / 65 = 39.818 mel), so
    bin 32 weighs 1 - 0.4637 in band 19 (centre below it) and 0.4637 in band 20."""
    amplitude, n, w0 = 0.5, 400, 2 * np.pi * 1000 / SR
    y = amplitude * np.sin(w0 * np.arange(SR))

    def geometric(w):
        w = np.angle(np.exp(1j * w))  # wrap to (-pi, pi]
        return n if abs(w) < 1e-12 else (1 - np.exp(-1j * w * n)) / (1 - np.exp(-1j * w))

    def hann_dtft(w):
        a = 2 * np.pi / n
        return 0.5 * geometric(w) - 0.25 * geometric(w - a) - 0.25 * geometric(w + a)

    bins = np.arange(257)
    wk = 2 * np.pi * bins / 512
    spectrum = np.abs([amplitude / 2j * (hann_dtft(w - w0) - hann_dtft(w + w0)) for w in wk])
    assert spectrum[32] == pytest.approx(amplitude * n / 4, abs=1e-9)  # 50

    mel = lambda hz: 1127.0 * np.log(1.0 + hz / 700.0)  # noqa: E731
    step = (mel(7500.0) - mel(125.0)) / 65
    position = (mel(1000.0) - mel(125.0)) / step  # in band steps from the lowest edge
    assert position == pytest.approx(20.4637, abs=1e-4) and step == pytest.approx(39.818, abs=1e-3)
    band = int(position) - 1  # 19: centre at edge 20, just below 1 kHz

    def weight(k, b):  # triangle b: edges b, b + 1 (peak), b + 2 in band steps
        p = (mel(k * 31.25) - mel(125.0)) / step
        return max(0.0, min(p - b, b + 2 - p))

    assert weight(32, band) == pytest.approx(1 - 0.4637, abs=1e-4)
    assert weight(32, band + 1) == pytest.approx(0.4637, abs=1e-4)
    expected = np.log(sum(spectrum[k] * weight(k, band) for k in range(1, 257)) + 0.01)
    assert expected == pytest.approx(4.118, abs=1e-3)

    log_mel = fe.log_mel(y)
    assert log_mel.shape == (98, 64)
    np.testing.assert_allclose(log_mel, np.broadcast_to(log_mel[0], log_mel.shape), atol=1e-6)
    assert int(log_mel[0].argmax()) == band
    assert log_mel[0, band] == pytest.approx(expected, abs=1e-5)
    expected_next = np.log(sum(spectrum[k] * weight(k, band + 1) for k in range(1, 257)) + 0.01)
    assert log_mel[0, band + 1] == pytest.approx(expected_next, abs=1e-5)


# ---- the network -----------------------------------------------------------------------------

TORCHVGGISH_KEYS = {f'features.{i}.{p}': s for i, (o, c) in zip(
    (0, 3, 6, 8, 11, 13), ((64, 1), (128, 64), (256, 128), (256, 256), (512, 256), (512, 512)))
    for p, s in (('weight', (o, c, 3, 3)), ('bias', (o, )))}
TORCHVGGISH_KEYS.update({f'embeddings.{i}.{p}': s for i, (o, c) in zip(
    (0, 2, 4), ((4096, 12288), (4096, 4096), (128, 4096)))
    for p, s in (('weight', (o, c)), ('bias', (o, )))})


@pytest.fixture(scope='module')
def vggish_net():
    from ava_plugins.models.recognition import VGGish
    torch.manual_seed(0)
    return VGGish(postprocess=True).eval()


def test_network_layout_output_shape_and_tf_flatten_order(vggish_net):
    model = vggish_net
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == dict(TORCHVGGISH_KEYS, **{'pproc.pca_eigen_vectors': (128, 128),
                                               'pproc.pca_means': (128, 1)})
    x = torch.randn(2, 1, 2 * 96, 64)  # 2 clips of 1.92 s (NCTF)
    captured = {}
    hook = model.embeddings[0].register_forward_hook(
        lambda m, i, o: captured.update(fc_in=i[0]))
    feats = model.features(x[:1, :, :96])
    assert feats.shape == (1, 512, 6, 4)  # (frames, bands) / 16
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 128, 2)  # 128-d per 0.96 s example
    # the fc input is flattened as TensorFlow's (frames, bands, channels): element of channel
    # c at frame t, band b sits at (t * 4 + b) * 512 + c
    t, b, c = 1, 2, 3
    with torch.no_grad():
        model.embed(x[0, :, :96])
        torch.testing.assert_close(captured['fc_in'][0, (t * 4 + b) * 512 + c],
                                   model.features(x[:1, :, :96])[0, c, t, b])
    # final ReLU (the 2017-2018 release) and the identity PCA: round((clip(e) + 2) * 255 / 4)
    with torch.no_grad():
        raw = model.embeddings(captured['fc_in'])
        assert float(raw.min()) >= 0
        torch.testing.assert_close(model.embed(x[0, :, :96]),
                                   torch.round((raw.clamp(-2, 2) + 2) * 63.75))
    hook.remove()
    with pytest.raises(ValueError, match='96 k'):
        model(torch.randn(1, 1, 100, 64))


def test_random_torchvggish_checkpoint_round_trips(tmp_path, vggish_net):
    """Random weights saved in torchvggish's layout (its model file: features.* and
    embeddings.*; its PCA file: pca_eigen_vectors, pca_means of shape (128,)) and loaded into
    a new model give identical outputs, with and without the post-processing."""
    from ava_plugins.models.recognition import VGGish, load_vggish_weights
    from ava_plugins.utils import InputError
    torch.manual_seed(1)
    weights = {k: 0.02 * torch.randn(s) for k, s in TORCHVGGISH_KEYS.items()}
    pca = {'pca_eigen_vectors': torch.linalg.qr(torch.randn(128, 128))[0],
           'pca_means': 0.1 * torch.randn(128)}
    torch.save(weights, tmp_path / 'vggish.pth')
    torch.save(pca, tmp_path / 'pca.pth')
    np.savez(tmp_path / 'pca.npz', **{k: v.numpy() for k, v in pca.items()})
    torch.save({k: v.numpy() for k, v in pca.items()}, tmp_path / 'pca_numpy.pth')  # pickled

    x = torch.randn(3, 96, 64)
    reference = vggish_net  # load the same tensors by hand into an existing model
    reference.load_state_dict(dict(weights, **{'pproc.pca_eigen_vectors':
                                               pca['pca_eigen_vectors'],
                                               'pproc.pca_means': pca['pca_means'][:, None]}))
    with torch.no_grad():
        expected = reference.embed(x)
        raw_expected = reference.embeddings(reference.features(x[:, None]).permute(
            0, 2, 3, 1).flatten(1))
    assert len(expected.unique()) > 10  # the PCA spreads values over many quantisation levels

    model = VGGish(postprocess=True, checkpoint=str(tmp_path / 'vggish.pth'),
                   pca_params=str(tmp_path / 'pca.pth'), frozen=True)
    model.init_weights()
    assert not any(p.requires_grad for p in model.parameters()) and not model.training
    for pca_file in ('pca.pth', 'pca.npz', 'pca_numpy.pth'):
        model.pproc.pca_means.zero_()
        load_vggish_weights(model, pca_params=str(tmp_path / pca_file))
        with torch.no_grad():
            torch.testing.assert_close(model.embed(x), expected, rtol=0, atol=0)
    plain = VGGish(checkpoint=str(tmp_path / 'vggish.pth'))
    plain.init_weights()
    with torch.no_grad():
        torch.testing.assert_close(plain.embed(x), raw_expected, rtol=0, atol=0)
    # the full model's state dict (with pproc.*) as one file loads the PCA too
    torch.save(reference.state_dict(), tmp_path / 'full.pth')
    full = VGGish(postprocess=True, checkpoint=str(tmp_path / 'full.pth'))
    full.init_weights()
    with torch.no_grad():
        torch.testing.assert_close(full.embed(x), expected, rtol=0, atol=0)

    broken = dict(weights)
    del broken['features.13.bias']
    torch.save(broken, tmp_path / 'broken.pth')
    message = r'broken.pth: not a VGGish checkpoint .*features.13.bias'
    with pytest.raises(InputError, match=message):
        VGGish(checkpoint=str(tmp_path / 'broken.pth')).init_weights()
    with pytest.raises(InputError, match=r'vggish.pth: no pproc.pca_eigen_vectors'):
        VGGish(postprocess=True, checkpoint=str(tmp_path / 'vggish.pth')).init_weights()
    (tmp_path / 'junk.pth').write_text('not a checkpoint')
    with pytest.raises(InputError, match='junk.pth: not a PyTorch state dict'):
        VGGish(checkpoint=str(tmp_path / 'junk.pth')).init_weights()
    torch.save({'pca_means': pca['pca_means']}, tmp_path / 'bad_pca.pth')
    with pytest.raises(InputError, match="bad_pca.pth: no 'pca_eigen_vectors'"):
        VGGish(postprocess=True, pca_params=str(tmp_path / 'bad_pca.pth')).init_weights()


def test_vggish_backbone_in_an_mmaction2_recognizer():
    """``RecognizerAudio`` with VGGish (frozen) and ``VGGishHead``: 2 videos x 2 clips of
    1.92 s; the head averages the 2 embeddings of a clip, the recognizer the clips' softmax."""
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='RecognizerAudio', backbone=dict(type='VGGish', frozen=True),
        cls_head=dict(type='VGGishHead', num_classes=3, in_channels=128, dropout_ratio=0.0,
                      average_clips='prob'))).eval()
    model.init_weights()
    x = torch.randn(2, 2, 1, 192, 64)
    samples = [ActionDataSample().set_gt_label(lab) for lab in (0, 2)]
    with torch.no_grad():
        preds = model(x, samples, mode='predict')
        emb = model.backbone(x.flatten(0, 1))  # (4, 128, 2)
        logits = model.cls_head.fc_cls(emb.mean(-1)).view(2, 2, 3)
    torch.testing.assert_close(torch.stack([p.pred_score for p in preds]),
                               logits.softmax(-1).mean(1))


def test_tool_writes_vggish_log_mel_and_embeddings(repo_root, tmp_path):
    """``tools/extract_audio_features.py --feature vggish-logmel / vggish`` on a 2.1 s WAV:
    the front end's frames, and 2 embeddings (2 whole 0.96 s examples) equal to the network
    loaded from the same random torchvggish-layout checkpoint; the settings (checkpoint content,
    final ReLU) guard a rerun."""
    import soundfile

    import ava_plugins.engine.audio_features as tool
    from ava_plugins.models.recognition import VGGish
    from ava_plugins.utils import InputError
    y = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(2.1 * SR)) / SR)).astype(np.float32)
    (tmp_path / 'wav').mkdir()
    soundfile.write(tmp_path / 'wav' / 'a.wav', y, SR, subtype='FLOAT')
    torch.manual_seed(2)
    ckpt = tmp_path / 'vggish.pth'
    torch.save({k: 0.02 * torch.randn(s) for k, s in TORCHVGGISH_KEYS.items()}, ckpt)

    assert not tool.extract(str(tmp_path / 'wav'), str(tmp_path / 'mel'),
                            feature='vggish-logmel')['failed']
    np.testing.assert_array_equal(np.load(tmp_path / 'mel' / 'a.npy'), fe.log_mel(y))
    out = tmp_path / 'emb'
    assert not tool.extract(str(tmp_path / 'wav'), str(out), feature='vggish',
                            checkpoint=str(ckpt))['failed']
    emb = np.load(out / 'a.npy')
    assert emb.shape == (2, 128) and emb.dtype == np.float32
    model = VGGish(checkpoint=str(ckpt))
    model.init_weights()
    with torch.no_grad():
        expected = model.eval().embed(torch.from_numpy(fe.waveform_to_examples(y))).numpy()
    np.testing.assert_allclose(emb, expected, rtol=0, atol=1e-6)
    with pytest.raises(InputError, match='needs --checkpoint'):
        tool.extract(str(tmp_path / 'wav'), str(tmp_path / 'x'), feature='vggish')
    with pytest.raises(InputError, match='final_relu: True there, False now'):
        tool.extract(str(tmp_path / 'wav'), str(out), feature='vggish', checkpoint=str(ckpt),
                     final_relu=False)
    with pytest.raises(InputError, match='needs --sr 16000'):
        tool.extract(str(tmp_path / 'wav'), str(tmp_path / 'y'), feature='vggish-logmel',
                     sr=8000)

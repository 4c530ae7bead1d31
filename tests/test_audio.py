"""Acoustic branch (Qiniu 2018 report §2.2): the feature tool on a generated WAV and video,
the audio models and their configs."""
import os

import numpy as np
import pytest
import torch

import ava_plugins  # noqa: F401

SR = 16000


@pytest.fixture(scope='module')
def tool():
    import ava_plugins.engine.audio_features
    return ava_plugins.engine.audio_features


def tones(seconds=0.5, sr=SR):
    """A 440 Hz + 1250 Hz chord switching to 3000 Hz half way (float32, peak 0.5)."""
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 1250 * t)
    y[len(y) // 2:] = 0.5 * np.sin(2 * np.pi * 3000 * t[len(y) // 2:])
    return y.astype(np.float32)


def write_video_with_audio(path, audio, sr=SR, frames=6, size=32):
    """mkv: mpeg4 video + stereo pcm_s16le audio (both channels = ``audio``), with PyAV."""
    import av
    with av.open(str(path), 'w') as container:
        video = container.add_stream('mpeg4', rate=12)
        video.width = video.height = size
        video.pix_fmt = 'yuv420p'
        sound = container.add_stream('pcm_s16le', rate=sr)
        sound.layout = 'stereo'
        for i in range(frames):
            img = np.full((size, size, 3), 20 * i, dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format='rgb24')):
                container.mux(packet)
        pcm = np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)
        step = 1024
        for start in range(0, len(pcm), step):
            chunk = np.repeat(pcm[start:start + step], 2)[None]  # packed stereo (1, 2n)
            frame = av.AudioFrame.from_ndarray(chunk, format='s16', layout='stereo')
            frame.sample_rate = sr
            frame.pts = start
            for packet in sound.encode(frame):
                container.mux(packet)
        for stream in (video, sound):
            for packet in stream.encode(None):
                container.mux(packet)


@pytest.fixture(scope='module')
def media(tmp_path_factory):
    import soundfile
    root = tmp_path_factory.mktemp('media')
    y = tones()
    (root / 'clips').mkdir()
    soundfile.write(root / 'clips' / 'tone.wav', y, SR, subtype='FLOAT')
    soundfile.write(root / 'tone22k.wav', tones(sr=22050), 22050, subtype='FLOAT')
    write_video_with_audio(root / 'clips' / 'tone_video.mkv', y)
    (root / 'broken.wav').write_text('not audio')
    return root, y


def test_mfcc_and_logmel_of_a_pure_tone_equal_hand_computed_values(tool, media):
    """A 0.5-amplitude tone at FFT bin 14 (437.5 Hz), 32-ms periodic-Hann windows (512 samples
    = n_fft), 31 mel bands up to 1000 Hz, all in the Slaney mel scale's linear part, so the
    band centres fall on the bins 1..31 (31.25 Hz apart) and each triangle is 1 at its centre
    bin and 0 at the next ones, times Slaney's 2 / 62.5. By hand: |X[14]| = A N / 4 = 64 and
    |X[13]| = |X[15]| = A N / 8 (the window's DFT is N/2 at 0, -N/4 at +-1, 0 elsewhere), so
    band 13 holds 0.032 * 64^2 = 131.072 (21.175 dB), bands 12 and 14 a quarter of it
    (15.154 dB), every other band nothing, floored by power_to_db's top_db at 21.175 - 80 dB;
    the MFCCs are the orthonormal DCT-II of those bands. The number of frames is
    1 + samples // hop (centred frames). Would catch a wrong window, FFT size, power, mel
    normalisation, dB reference or DCT, which comparing with the same librosa call cannot."""
    root, y = media
    audio = tool.load_audio(str(root / 'clips' / 'tone.wav'), SR)
    np.testing.assert_array_equal(audio, y)
    assert tool.compute_features(audio, SR, 'mfcc', n_mfcc=40).shape == (len(y) // 160 + 1, 40)

    amplitude, n_fft, bin_ = 0.5, 512, 14
    tone = (amplitude * np.sin(2 * np.pi * bin_ * SR / n_fft * np.arange(SR // 2) / SR))
    kw = dict(n_mels=31, win_ms=32.0, hop_ms=10.0, fmin=0.0, fmax=1000.0)
    logmel = tool.compute_features(tone.astype(np.float32), SR, 'logmel', **kw)
    assert logmel.shape == (SR // 2 // 160 + 1, 31) and logmel.dtype == np.float32
    peak = (2 / 62.5) * (amplitude * n_fft / 4)**2
    expected = np.full(31, 10 * np.log10(peak) - 80)
    expected[bin_ - 1] = 10 * np.log10(peak)
    expected[[bin_ - 2, bin_]] = 10 * np.log10(peak / 4)
    np.testing.assert_allclose(expected[bin_ - 2:bin_ + 1], [15.1545, 21.1751, 15.1545],
                               atol=1e-4)
    inner = logmel[4:-4]  # frames whose window lies inside the signal
    np.testing.assert_allclose(inner, np.broadcast_to(expected, inner.shape), atol=1e-3)

    mfcc = tool.compute_features(tone.astype(np.float32), SR, 'mfcc', n_mfcc=13, **kw)
    m = np.arange(31)
    dct = np.sqrt(2 / 31) * np.cos(np.pi * np.arange(13)[:, None] * (2 * m + 1) / 62)
    dct[0] = np.sqrt(1 / 31)
    np.testing.assert_allclose(mfcc[4:-4], np.broadcast_to(dct @ expected, (len(mfcc) - 8, 13)),
                               atol=1e-3)


def test_resampling_uses_librosa(tool, media):
    import librosa
    root, _ = media
    audio = tool.load_audio(str(root / 'tone22k.wav'), SR)
    expected = librosa.resample(tones(sr=22050), orig_sr=22050, target_sr=SR)
    np.testing.assert_allclose(audio, expected, atol=1e-6)


def test_video_audio_equals_the_wav(tool, media):
    root, y = media
    audio = tool.load_audio(str(root / 'clips' / 'tone_video.mkv'), SR)
    assert audio.shape == y.shape
    np.testing.assert_allclose(audio, y, atol=1.5 / 32767)  # 16-bit PCM quantisation
    from_video = tool.compute_features(audio, SR, 'mfcc')
    from_wav = tool.compute_features(y, SR, 'mfcc')
    np.testing.assert_allclose(from_video[2:-2], from_wav[2:-2], atol=0.05 * np.abs(
        from_wav).max())


def test_tool_resumes_and_reports_bad_files(tool, media, tmp_path):
    root, y = media
    out = tmp_path / 'feats'
    report = tool.extract(str(root), str(out), feature='logmel')
    assert ['broken.wav'] == [os.path.basename(p) for p in report['failed']]
    assert 'broken.wav: cannot be opened' in list(report['failed'].values())[0]
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob('*.npy'))
    assert written == ['clips/tone.npy', 'clips/tone_video.npy', 'tone22k.npy']
    np.testing.assert_allclose(np.load(out / 'clips' / 'tone.npy'),
                               tool.compute_features(y, SR, 'logmel'))
    stamp = os.stat(out / 'clips' / 'tone.npy').st_mtime_ns
    report = tool.extract(str(root), str(out), feature='logmel')
    assert len(report['skipped']) == 3 and not report['done']
    assert os.stat(out / 'clips' / 'tone.npy').st_mtime_ns == stamp
    assert not [p for p in out.rglob('*') if p.name.endswith('.tmp')]
    # Before, features of other settings were kept: now refused, or recomputed on --overwrite.
    from ava_plugins.utils import InputError
    with pytest.raises(InputError, match=r'feats: holds features computed with other settings: '
                       r"feature: 'logmel' there, 'mfcc' now"):
        tool.extract(str(root), str(out), feature='mfcc')
    with pytest.raises(InputError, match=r"n_mels: 80 there, 64 now"):
        tool.extract(str(root), str(out), feature='logmel', n_mels=64)
    assert len(tool.extract(str(root), str(out), feature='mfcc', overwrite=True)['failed']) == 1
    np.testing.assert_allclose(np.load(out / 'clips' / 'tone.npy'),
                               tool.compute_features(y, SR, 'mfcc'))
    # a list file, with a missing entry
    listing = root / 'list.txt'
    listing.write_text('clips/tone.wav 3\nclips/missing.mp4 1\n')
    report = tool.extract(str(listing), str(tmp_path / 'from_list'))
    assert [os.path.basename(p) for p in report['done']] == ['tone.wav']
    assert 'missing.mp4: no such file' in list(report['failed'].values())[0]


def _recognizer(backbone, head):
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    model = MODELS.build(dict(type='RecognizerAudio', backbone=backbone, cls_head=head))
    model.init_weights()
    return model


def _train_step_changes_loss(model, inputs, labels):
    from mmaction.structures import ActionDataSample
    samples = [ActionDataSample().set_gt_label(int(lab)) for lab in labels]
    optim = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(2):
        loss = model(inputs, samples, mode='loss')['loss_cls']
        optim.zero_grad()
        loss.backward()
        losses.append(float(loss.detach()))
        optim.step()
    return losses


def test_se_resnet50_audio_forward_backward():
    from ava_plugins.models.recognition.se_resnet_audio import SEBottleneck2dAudio
    torch.manual_seed(0)
    model = _recognizer(dict(type='SEResNetAudio', depth=50, base_channels=4),
                        dict(type='TSNAudioHead', num_classes=3, in_channels=128,
                             dropout_ratio=0.0))
    blocks = [m for m in model.backbone.modules() if isinstance(m, SEBottleneck2dAudio)]
    assert len(blocks) == 16  # ResNet-50: 3 + 4 + 6 + 3, each with its SE layer
    x = torch.randn(2, 1, 1, 32, 16)  # (N, clips, C, T frames, F MFCC bins)
    feats = model.extract_feat(x, stage='backbone')[0]
    assert feats.shape == (2, 128, 4, 2)
    # the SE gate rescales the residual branch: identical to the plain block times the gate
    block = blocks[0].eval()
    with torch.no_grad():
        inp = torch.randn(1, block.inplanes, 6, 6)
        branch = block.conv3(block.conv2(block.conv1(inp)))
        gate = torch.sigmoid(block.se.conv2(block.se.conv1(branch.mean((2, 3), keepdim=True))))
        expected = torch.relu(branch * gate + block.downsample(inp))
        torch.testing.assert_close(block(inp), expected)
    losses = _train_step_changes_loss(model, x, [0, 2])
    assert losses[-1] < losses[0]


def test_vggish_embedding_model_forward_backward():
    torch.manual_seed(0)
    model = _recognizer(dict(type='AudioEmbeddingMLP', in_channels=128, hidden_channels=(16, )),
                        dict(type='VGGishHead', num_classes=3, in_channels=16,
                             temporal_pool='max', dropout_ratio=0.0))
    x = torch.randn(2, 1, 1, 10, 128)  # 10 VGGish frames of 128-d embeddings
    feats = model.extract_feat(x, stage='backbone')[0]
    expected = torch.relu(x[:, 0, 0] @ model.backbone.mlp[0].weight.T +
                          model.backbone.mlp[0].bias).transpose(1, 2)
    torch.testing.assert_close(feats, expected)
    scores = model.cls_head(feats)
    torch.testing.assert_close(scores, model.cls_head.fc_cls(feats.amax(-1)))
    losses = _train_step_changes_loss(model, x, [1, 2])
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match='128'):
        model.backbone(torch.randn(2, 1, 10, 64))


# ---- audio configs (configs/recognition/audio, synthetic) -----------------------------------

def _config(repo_root, rel):
    from mmengine.config import Config
    return Config.fromfile(repo_root / 'configs' / 'recognition' / rel)


@pytest.mark.parametrize('rel,backbone,classes', [
    ('audio/se-resnet50_mfcc_64x1x1_kinetics400.py', 'SEResNetAudio', 400),
    ('audio/se-resnet50_mfcc_64x1x1_kinetics600.py', 'SEResNetAudio', 600),
    ('audio/se-resnet50_mfcc_64x1x1_mit.py', 'SEResNetAudio', 339),
    ('audio/resnet50_mfcc_64x1x1_kinetics400.py', 'ResNetAudio', 400),
    ('audio/resnet50_mfcc_64x1x1_kinetics600.py', 'ResNetAudio', 600),
    ('audio/resnet50_mfcc_64x1x1_mit.py', 'ResNetAudio', 339),
    ('audio/vggish-head_10x1x1_kinetics400.py', 'AudioEmbeddingMLP', 400),
    ('audio/vggish-head_10x1x1_kinetics600.py', 'AudioEmbeddingMLP', 600),
    ('audio/vggish-head_10x1x1_mit.py', 'AudioEmbeddingMLP', 339)])
def test_audio_configs_build_and_read_their_data(repo_root, rel, backbone, classes):
    """Every audio config builds its model (classes counted on the built fc layer) and its
    datasets point at the data of its name."""
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    cfg = _config(repo_root, rel)
    if backbone != 'AudioEmbeddingMLP':  # building full-width ResNets is covered below
        cfg.model.backbone.base_channels = 4
        cfg.model.cls_head.in_channels = 128
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == backbone
    assert model.cls_head.fc_cls.out_features == classes
    data = {400: 'kinetics400', 600: 'kinetics600', 339: 'mit'}[classes]
    for split in ('train', 'val', 'test'):
        dataset = cfg[f'{split}_dataloader'].dataset
        assert data in dataset.data_root + dataset.ann_file
    assert cfg.test_dataloader.batch_size == 1


@pytest.mark.parametrize('rel,se', [('audio/se-resnet50_mfcc_64x1x1_kinetics600.py', True),
                                    ('audio/resnet50_mfcc_64x1x1_kinetics600.py', False)])
def test_resnet50_audio_configs_are_full_width(repo_root, rel, se):
    """The built backbones' stage outputs, measured on a 128 x 40 MFCC clip, have ResNet-50's
    widths 256 / 512 / 1024 / 2048 (the stem 64), with an SE layer in each of the 16 blocks of
    the SE model and none in the plain one; the head takes the 2048 channels."""
    from mmaction.models.backbones.resnet_audio import Bottleneck2dAudio
    from mmaction.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmdet.models.layers import SELayer
    init_default_scope('mmaction')
    model = MODELS.build(_config(repo_root, rel).model).eval()
    backbone = model.backbone
    widths = {}
    for name in ('conv1', 'layer1', 'layer2', 'layer3', 'layer4'):
        getattr(backbone, name).register_forward_hook(
            lambda m, i, o, name=name: widths.update({name: tuple(o.shape[1:])}))
    with torch.no_grad():
        scores = model.extract_feat(torch.zeros(1, 1, 1, 128, 40), stage='head')[0]
    assert widths == {'conv1': (64, 128, 40), 'layer1': (256, 128, 40), 'layer2': (512, 64, 20),
                      'layer3': (1024, 32, 10), 'layer4': (2048, 16, 5)}
    assert scores.shape == (1, 600)
    blocks = [m for m in backbone.modules() if isinstance(m, Bottleneck2dAudio)]
    assert len(blocks) == 16
    assert sum(isinstance(m, SELayer) for m in backbone.modules()) == (16 if se else 0)


def _predict(model, dataset, indices):
    from mmengine.dataset import pseudo_collate
    scores = []
    with torch.no_grad():
        for i in indices:  # one video per batch, as the test dataloaders
            data = model.data_preprocessor(pseudo_collate([dataset[i]]))
            scores.append(model(**data, mode='predict')[0].pred_score)
    return scores


@pytest.mark.parametrize('rel,length,clip_len,dim,marked', [
    ('audio/se-resnet50_mfcc_64x1x1_kinetics600.py', 1000, 128, 40, 12),  # 10 s, last 0.12 s
    ('audio/vggish-head_10x1x1_kinetics600.py', 23, 10, 128, 2)])  # 23 VGGish embeddings
def test_test_pipeline_covers_the_whole_audio(repo_root, tmp_path, rel, length, clip_len, dim,
                                              marked):
    """The configs' test path cuts the whole track into clips (the last one ending at the
    track's end) and averages them: a feature present only in the last frames changes the
    video's scores. Before, one 1.28 s clip (10 embeddings) placed by SampleFrames was seen."""
    from mmaction.registry import DATASETS, MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    rng = np.random.default_rng(0)
    base = rng.normal(size=(length, dim)).astype(np.float32)
    tail = base.copy()
    tail[-marked:] += 6.0  # distinctive, in the last frames only (12: the ResNet's 8x
    # time stride and zero-initialised residual branches let only every 8th frame through)
    (tmp_path / 'feats').mkdir()
    np.save(tmp_path / 'feats' / 'base.npy', base)
    np.save(tmp_path / 'feats' / 'tail.npy', tail)
    (tmp_path / 'list.txt').write_text(f'base.npy {length} 1\ntail.npy {length} 1\n')
    cfg = _config(repo_root, rel)
    assert cfg.test_dataloader.batch_size == 1
    datasets = {}
    for split in ('test', 'val'):
        ds_cfg = cfg[f'{split}_dataloader'].dataset
        ds_cfg.update(data_root=str(tmp_path), ann_file='list.txt',
                      data_prefix=dict(audio='feats'))
        datasets[split] = DATASETS.build(ds_cfg)
    item = datasets['test'][0]
    num_clips = int(np.ceil((length - clip_len) / clip_len)) + 1
    assert item['inputs'].shape == (num_clips, 1, clip_len, dim)
    assert num_clips * clip_len >= length
    clips = item['inputs'][:, 0].numpy()
    np.testing.assert_array_equal(clips[:-1].reshape(-1, dim), base[:(num_clips - 1) * clip_len])
    np.testing.assert_array_equal(clips[-1], base[-clip_len:])  # ends at the track's end

    if cfg.model.backbone.type == 'SEResNetAudio':
        cfg.model.backbone.base_channels = 4
        cfg.model.cls_head.in_channels = 128
    else:
        cfg.model.backbone.hidden_channels = (16, )
        cfg.model.cls_head.in_channels = 16
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    model.init_weights()
    with torch.no_grad():  # a head whose fc reacts to every feature channel
        torch.nn.init.normal_(model.cls_head.fc_cls.weight, std=1.0)
    test_base, test_tail = _predict(model, datasets['test'], [0, 1])
    assert not torch.allclose(test_base, test_tail, rtol=1e-3, atol=0)
    # the averaged scores are the mean of the per-clip softmax scores
    with torch.no_grad():
        per_clip = model.extract_feat(item['inputs'][None].float(), stage='head')[0]
    torch.testing.assert_close(test_base, per_clip.softmax(-1).mean(0))
    val_base, val_tail = _predict(model, datasets['val'], [0, 1])  # single-clip validation
    assert torch.equal(val_base, val_tail)  # the centre clip never reaches the end


def test_whole_audio_clips_edge_cases():
    from ava_plugins.datasets.transforms import WholeAudioClips
    audio = np.arange(10, dtype=np.float32)[:, None]
    short = WholeAudioClips(clip_len=16)(dict(audios=audio))
    assert short['audios'].shape == (1, 16, 1) and short['num_clips'] == 1
    np.testing.assert_array_equal(short['audios'][0, :10, 0], np.arange(10))
    assert not short['audios'][0, 10:].any()  # zero-padded, as AudioFeatureSelector pads
    empty = WholeAudioClips(clip_len=4)(dict(audios=np.zeros((0, 3), np.float32)))
    assert empty['audios'].shape == (1, 4, 3)
    overlap = WholeAudioClips(clip_len=4, stride=2)(dict(audios=audio))
    assert list(overlap['clip_starts']) == [0, 2, 4, 6]
    assert list(WholeAudioClips(4)(dict(audios=audio))['clip_starts']) == [0, 4, 6]
    with pytest.raises(ValueError, match='stride'):
        WholeAudioClips(clip_len=4, stride=5)


def test_tool_features_through_the_tiny_config_pipeline(repo_root, tool, media, tmp_path):
    """MFCC files written by the tool are read by mmaction2's AudioDataset and pipeline of
    ``synthetic/se-resnet50_mfcc_tiny.py`` and classified by its model."""
    from mmaction.registry import DATASETS, MODELS
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    root, _ = media
    feats = tmp_path / 'mfcc'
    report = tool.extract(str(root / 'clips'), str(feats), feature='mfcc')
    assert len(report['done']) == 2
    ann = tmp_path / 'list.txt'
    ann.write_text('tone.npy 64 1\ntone_video.npy 64 3\n')  # 64 video frames
    cfg = _config(repo_root, 'synthetic/se-resnet50_mfcc_tiny.py')
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.update(data_root=str(tmp_path), ann_file='list.txt', data_prefix=dict(audio='mfcc'))
    dataset = DATASETS.build(ds_cfg)
    item = dataset[0]
    assert item['inputs'].shape == (1, 1, 128, 40)  # fixed_length 128 frames x 40 MFCCs
    mfcc = np.load(feats / 'tone.npy')
    # SampleFrames takes video frames 0-63; AudioFeatureSelector maps them onto the 51 audio
    # frames, [round(1 / 64 * 51), round(64 / 64 * 51)) = [1, 51), and zero-pads to 128
    assert len(mfcc) == 51
    np.testing.assert_allclose(item['inputs'][0, 0, :50].numpy(), mfcc[1:51])
    assert float(item['inputs'][0, 0, 50:].abs().sum()) == 0
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    model.init_weights()
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate([dataset[0], dataset[1]]))
        preds = model(**data, mode='predict')
    scores = torch.stack([p.pred_score for p in preds])
    assert scores.shape == (2, 5)
    torch.testing.assert_close(scores.sum(1), torch.ones(2))
    assert [int(p.gt_label) for p in preds] == [1, 3]


def test_vggish_tiny_config_predicts_probabilities(repo_root):
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(_config(repo_root, 'synthetic/vggish-head_tiny.py').model).eval()
    model.init_weights()
    samples = [ActionDataSample().set_gt_label(lab) for lab in (0, 4)]
    with torch.no_grad():
        preds = model(torch.randn(2, 1, 1, 10, 128), samples, mode='predict')
    scores = torch.stack([p.pred_score for p in preds])
    assert scores.shape == (2, 5)
    torch.testing.assert_close(scores.sum(1), torch.ones(2))

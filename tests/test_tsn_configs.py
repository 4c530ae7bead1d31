"""TSN configs of the Qiniu 2018 report, Tables 1-2 (configs/recognition/tsn).

Every config builds through mmaction2's ``MODELS`` (pretrained weights switched off), runs a tiny
forward to its head, and, for the library backbones (timm, torchvision), the recogniser's
backbone features equal the library network's own pooled features with the same weights.
"""
import copy
import math
from pathlib import Path

import pytest
import timm
import torch
import torchvision
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

import ava_plugins  # noqa: F401
from mmaction.registry import MODELS

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
TSN = REPO / 'configs' / 'recognition' / 'tsn'

# name: (backbone type, feature width, classes, modality, crop size, report accuracy)
EXPECTED = {
    'tsn_dpn107_1x1x3_kinetics400_rgb': ('timm.dpn107', 2688, 400, 'rgb', 224, '75.95'),
    'tsn_dpn107_5x1x3_kinetics400_flow': ('timm.dpn107', 2688, 400, 'flow', 224, '69.60'),
    'tsn_dpn107_1x1x3_mit_rgb': ('timm.dpn107', 2688, 339, 'rgb', 224, '31.06'),
    'tsn_se-resnet152_1x1x3_kinetics400_rgb': ('timm.legacy_seresnet152', 2048, 400, 'rgb', 224,
                                               '73.88'),
    'tsn_inception-v4_1x1x3_kinetics400_rgb': ('timm.inception_v4', 1536, 400, 'rgb', 299,
                                               '73.51'),
    'tsn_inception-v4_5x1x3_kinetics400_flow': ('timm.inception_v4', 1536, 400, 'flow', 299,
                                                '68.76'),
    'tsn_resnext101-32x8d_1x1x3_kinetics400_rgb': ('torchvision.resnext101_32x8d', 2048, 400,
                                                   'rgb', 224, '75.43'),
    'tsn_inception-v3_1x1x3_kinetics400_rgb': ('torchvision.inception_v3', 2048, 400, 'rgb', 299,
                                               '68.52'),
    'tsn_r152_1x1x3_kinetics400_rgb': ('ResNet', 2048, 400, 'rgb', 224, '72.04'),
    'tsn_r152_5x1x3_kinetics400_flow': ('ResNet', 2048, 400, 'flow', 224, '67.13'),
    'tsn_r152_1x1x3_mit_rgb': ('ResNet', 2048, 339, 'rgb', 224, '30.21'),
    'tsn_r101_5x1x3_mit_flow': ('ResNet', 2048, 339, 'flow', 224, '22.82'),
}
NAMES = sorted(EXPECTED)
#: The report's Kinetics is Kinetics-600: each Kinetics config has a 600-class child.
K600 = sorted(n.replace('kinetics400', 'kinetics600') for n in NAMES if 'kinetics400' in n)


def _load(name: str, **backbone_overrides) -> Config:
    """The config with its ImageNet weights switched off, as a cfg-options override."""
    cfg = Config.fromfile(TSN / f'{name}.py')
    kind = cfg.model.backbone.type
    if kind.startswith('timm.'):
        off = {'model.backbone.pretrained': False}
    elif kind.startswith('torchvision.'):
        off = {'model.backbone.weights': None}
    else:
        off = {'model.backbone.pretrained': None}
    off.update({f'model.backbone.{k}': v for k, v in backbone_overrides.items()})
    cfg.merge_from_dict(off)
    return cfg


def _build(cfg: Config):
    init_default_scope('mmaction')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def _crops(pipeline) -> set:
    sizes = set()
    for t in pipeline:
        if t.type in ('CenterCrop', 'TenCrop', 'ThreeCrop'):
            sizes.add(t.crop_size)
        elif t.type == 'MultiScaleCrop':
            sizes.add(t.input_size)
        elif t.type == 'Resize' and t.get('keep_ratio') is False:
            sizes.add(tuple(t.scale)[0])
    return sizes


def test_every_tsn_config_is_covered_and_in_the_metafile():
    assert sorted(p.stem for p in TSN.glob('*.py')) == sorted(NAMES + K600)
    meta = yaml.safe_load((REPO / 'configs' / 'metafile.yml').read_text())
    listed = {m['Config']: m['In Collection'] for m in meta['Models']}
    for name in NAMES + K600:
        assert listed.get(f'configs/recognition/tsn/{name}.py') == 'ava_plugins_recognition'


@pytest.mark.parametrize('name', K600)
def test_kinetics600_child_is_its_parent_with_600_classes(name):
    """Everything but the class count and the data paths equals the Kinetics-400 config; the
    built head scores 600 classes; every split reads Kinetics-600 files."""
    child = Config.fromfile(TSN / f'{name}.py')
    parent = Config.fromfile(TSN / f'{name.replace("kinetics600", "kinetics400")}.py')
    model = child.model.to_dict()
    assert model['cls_head'].pop('num_classes') == 600
    expected = parent.model.to_dict()
    expected['cls_head'].pop('num_classes')
    assert model == expected
    init_default_scope('mmaction')
    assert MODELS.build(child.model.cls_head).fc_cls.out_features == 600
    for split in ('train', 'val', 'test'):
        got, old = child[f'{split}_dataloader'], parent[f'{split}_dataloader']
        text = str(got.dataset.ann_file) + str(got.dataset.data_prefix)
        assert 'kinetics600' in text and 'kinetics400' not in text
        assert text == (str(old.dataset.ann_file) + str(old.dataset.data_prefix)).replace(
            'kinetics400', 'kinetics600')
        assert got.dataset.pipeline == old.dataset.pipeline


@pytest.mark.parametrize('name', NAMES)
def test_config_recipe(name):
    """Report table and accuracy in the docstring, TSN recipe, input size and normalisation."""
    kind, width, classes, modality, crop, acc = EXPECTED[name]
    doc = (TSN / f'{name}.py').read_text().split('"""')[1]
    assert acc in doc and ('Table 2' if classes == 339 else 'Table 1') in doc
    cfg = Config.fromfile(TSN / f'{name}.py')
    model = cfg.model
    assert model.type == 'Recognizer2D' and model.backbone.type == kind
    assert model.cls_head.type == 'TSNHead' and model.cls_head.consensus.type == 'AvgConsensus'
    assert model.cls_head.num_classes == classes and model.cls_head.in_channels == width
    for loader in ('train', 'val', 'test'):
        pipeline = cfg[f'{loader}_dataloader'].dataset.pipeline
        sample = [t for t in pipeline if t.type == 'SampleFrames'][0]
        assert sample.clip_len == (5 if modality == 'flow' else 1)
        if loader == 'train':
            assert sample.num_clips == 3  # 3 segments, average consensus
        assert _crops(pipeline) == {crop}, loader
    prep = model.data_preprocessor
    if modality == 'flow':
        assert cfg.train_dataloader.dataset.modality == 'Flow'
        in_chans = model.backbone.get('in_chans', model.backbone.get('in_channels'))
        assert in_chans == 10 and prep.mean == [128] * 10 and prep.std == [128] * 10
    if kind.startswith('timm.'):
        # ImageNet weights as the report; input size and normalisation as timm trained them
        assert model.backbone.pretrained is True
        pcfg = timm.models.get_pretrained_cfg(kind[5:])
        assert pcfg.input_size[1:] == (crop, crop)
        if modality == 'rgb':
            assert prep.mean == pytest.approx([255 * m for m in pcfg.mean])
            assert prep.std == pytest.approx([255 * s for s in pcfg.std])
    if classes == 339:
        assert 'mit' in cfg.train_dataloader.dataset.ann_file
        assert 'kinetics' not in cfg.val_dataloader.dataset.ann_file


def _timm_reference(model, kind: str, in_chans: int) -> torch.nn.Module:
    """timm's own classifier-free network with the recogniser's backbone weights."""
    torch.manual_seed(1)  # different from the recogniser's: only the copy makes them equal
    ref = timm.create_model(kind[5:], pretrained=False, num_classes=0, in_chans=in_chans)
    ref.load_state_dict(model.backbone.state_dict(), strict=True)
    return ref.eval()


def _torchvision_reference(model, cfg_backbone) -> torch.nn.Module:
    """torchvision's own network (with its classifier) cut at the pooled features."""
    from torchvision.models.feature_extraction import create_feature_extractor
    kwargs = {k: v for k, v in cfg_backbone.items() if k not in ('type', '_delete_')}
    ref = torchvision.models.get_model(cfg_backbone.type[12:], **kwargs)
    missing, unexpected = ref.load_state_dict(model.backbone.state_dict(), strict=False)
    assert sorted(missing) == ['fc.bias', 'fc.weight'] and not unexpected
    return create_feature_extractor(ref.eval(), return_nodes={'flatten': 'feat'})


@pytest.mark.parametrize('name', NAMES)
def test_builds_and_matches_library_features(name):
    """Build via MODELS; backbone features == the library's; head width == feature width."""
    kind, width, classes, modality, crop, _ = EXPECTED[name]
    cfg = _load(name)
    backbone_cfg = copy.deepcopy(cfg.model.backbone)  # mmaction2 pops ``type`` when building
    torch.manual_seed(0)
    model = _build(cfg)
    channels = 10 if modality == 'flow' else 3
    size = 80 if 'inception' in kind else 64  # Inception stems need >= 75 px
    inputs = torch.randn(1, 3, channels, size, size)  # 1 clip x 3 segments
    frames = inputs.view(-1, channels, size, size)
    with torch.no_grad():
        feats, _ = model.extract_feat(inputs, stage='backbone')
        scores, _ = model.extract_feat(inputs, stage='head')
        if kind.startswith('timm.'):
            expected = _timm_reference(model, kind, channels)(frames)
        elif kind.startswith('torchvision.'):
            expected = _torchvision_reference(model, backbone_cfg)(frames)['feat']
        else:
            expected = None
    assert feats.shape[:2] == (3, width) == (3, model.cls_head.fc_cls.in_features)
    assert scores.shape == (1, classes) and torch.isfinite(scores).all()
    if expected is not None:
        assert feats.shape[2:] == (1, 1)
        assert expected.shape == (3, width) and float(expected.std()) > 0
        torch.testing.assert_close(feats.flatten(1), expected, rtol=1e-4, atol=1e-5)
    else:
        assert model.backbone.depth == int(name.split('_')[1][1:])
        assert model.backbone.conv1.conv.in_channels == channels


def test_timm_flow_backbone_adapts_local_imagenet_weights(tmp_path):
    """Offline ImageNet weights via ``pretrained_cfg_overlay=dict(file=...)``: the 3-channel
    first convolution is repeated over the 10 flow channels and scaled by 3/10, the rest copied."""
    torch.manual_seed(0)
    rgb = timm.create_model('inception_v4', pretrained=False)  # 3 channels, 1000 classes
    weights = {k: v.clone() for k, v in rgb.state_dict().items()}
    torch.save(weights, tmp_path / 'inception_v4.pth')
    cfg = _load('tsn_inception-v4_5x1x3_kinetics400_flow', pretrained=True,
                pretrained_cfg_overlay=dict(file=str(tmp_path / 'inception_v4.pth')))
    flow = _build(cfg).backbone.state_dict()
    first = weights['features.0.conv.weight']
    assert first.shape[1] == 3 and flow['features.0.conv.weight'].shape[1] == 10
    expected = torch.cat([first] * math.ceil(10 / 3), dim=1)[:, :10] * 0.3
    torch.testing.assert_close(flow['features.0.conv.weight'], expected)
    for k, v in flow.items():
        if k != 'features.0.conv.weight':
            torch.testing.assert_close(v, weights[k], rtol=0, atol=0, msg=k)

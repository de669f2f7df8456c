"""Where each registered architecture comes from: paper or repository, URL, licence (timm's pretrained-cfg
``paper_name`` / ``origin_url`` / ``license`` fields, kept per architecture here).

A licence is the one its source states for the architecture or code; ``NOT_STATED`` where the source states
none (no licence is assumed for it). ``note`` says how ser-zoo's version relates to the source.
"""

from __future__ import annotations

import dataclasses

NOT_STATED = "not stated"


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """A citation for one architecture.

    Args:
        title (str): Title of the paper, report, article or repository.
        authors (str, optional): Authors as the source names them. (Default: ``"not stated"``)
        venue (str, optional): Where and when it appeared, e.g. ``"CVPR 2016"``. (Default: ``""``)
        url (str, optional): Where to read it; ``""`` where none exists. (Default: ``""``)
        licence (str, optional): Licence of the architecture or code, as the source states it.
            (Default: ``"not stated"``)
        note (str, optional): How ser-zoo's version relates to the source. (Default: ``""``)
    """

    title: str
    authors: str = NOT_STATED
    venue: str = ""
    url: str = ""
    licence: str = NOT_STATED
    note: str = ""

    def __str__(self) -> str:
        """One-line citation: ``Authors. Title. Venue``."""
        parts = [self.authors if self.authors != NOT_STATED else "", self.title, self.venue]
        return ". ".join(p.rstrip(".") for p in parts if p)


CREMA_D_CNN_STUDY = ModelSource(
    title="Speech Emotion Recognition (DummyNet, RezoNet and ExpoNet on CREMA-D)",
    authors="Yousef Kotp, Mohamed Farid, Adham Mohamed",
    venue="GitHub repository",
    url="https://github.com/yousefkotp/Speech-Emotion-Recognition",
)
DEEP_NET = ModelSource(
    title="Deep-Net: A Lightweight CNN-Based Speech Emotion Recognition System Using Deep Frequency Features",
    authors="Tursunov Anvarjon, Mustaqeem, Soonil Kwon",
    venue="Sensors 20(18):5212, 2020",
    url="https://doi.org/10.3390/s20185212",
)
SER_FUSIONNET = ModelSource(
    title="Speech Emotion Recognition Using Deep Learning Models (SER-FusionNet)",
    authors="Revathi Boopathi, Nikitha Bramadi, Janani Ravi Kumar, Neetu Rasinger Babu",
    venue="DATA 255 project report, San José State University, May 2023",
)
RESNET18_TRANSFER_PROJECT = ModelSource(
    title="Speech-Emotion-Recognition (ImageNet ResNet18 on RAVDESS spectrograms)",
    authors="anuranjanpandey (GitHub)",
    venue="GitHub repository",
    url="https://github.com/anuranjanpandey/Speech-Emotion-Recognition",
)
CONV2D_MFCC_KERAS = ModelSource(
    title="Speech Emotion Recognition: Deep Learning on Python (Conv2D on 39 MFCCs, Keras)",
    authors="Kunal Gehlot",
    venue="Project slides",
)
MEL_MFCC_CNN_ARTICLE = ModelSource(
    title=(
        "Speech Emotion Recognition (SER) using CNNs and CRNNs Based on Mel Spectrograms and "
        "Mel Frequency Cepstral Coefficients (MFCCs)"
    ),
    venue="Article and its source code",
    url="https://datascrutineer.com/speech-emotion-recognition-cnns-tensorflow/",
    licence="MIT",
)
TORCHVISION_CODE = "BSD-3-Clause (torchvision's implementation; built here through timm, Apache-2.0)"
RESNET = ModelSource(
    title="Deep Residual Learning for Image Recognition",
    authors="Kaiming He, Xiangyu Zhang, Shaoqing Ren, Jian Sun",
    venue="CVPR 2016",
    url="https://arxiv.org/abs/1512.03385",
    licence=TORCHVISION_CODE,
    note=f"used for SER as in {RESNET18_TRANSFER_PROJECT.url} (licence not stated there)",
)
VGG = ModelSource(
    title="Very Deep Convolutional Networks for Large-Scale Image Recognition",
    authors="Karen Simonyan, Andrew Zisserman",
    venue="ICLR 2015",
    url="https://arxiv.org/abs/1409.1556",
    licence=TORCHVISION_CODE,
    note="SER-FusionNet's spectrogram-image experiment (VGG16 on RAVDESS, 54 %)",
)
TIMM = ModelSource(
    title="PyTorch Image Models (timm)",
    authors="Ross Wightman",
    venue="GitHub repository",
    url="https://github.com/huggingface/pytorch-image-models",
    licence="Apache-2.0",
)
GE2E = ModelSource(
    title="Generalized End-to-End Loss for Speaker Verification",
    authors="Li Wan, Quan Wang, Alan Papir, Ignacio Lopez Moreno",
    venue="ICASSP 2018",
    url="https://arxiv.org/abs/1710.10467",
    licence="Apache-2.0 (ser-zoo's head; the encoder is Resemblyzer's, Apache-2.0)",
    note="ser-zoo's own head on Resemblyzer's pretrained GE2E encoder (github.com/resemble-ai/Resemblyzer)",
)
SUPERB_HEAD = (
    "frozen by default, hidden layers cached per clip; ser-zoo's SUPERB-style head (Yang et al., Interspeech "
    "2021): softmax-weighted sum of every hidden layer, pooling over the valid frames, an MLP"
)
FAIRSEQ_WEIGHTS = "code BSD-2-Clause (torchaudio); weights MIT (the authors' fairseq release, via torchaudio)"
WAV2VEC2 = ModelSource(
    title="wav2vec 2.0: A Framework for Self-Supervised Learning of Speech Representations",
    authors="Alexei Baevski, Henry Zhou, Abdelrahman Mohamed, Michael Auli",
    venue="NeurIPS 2020",
    url="https://arxiv.org/abs/2006.11477",
    licence=FAIRSEQ_WEIGHTS,
    note=SUPERB_HEAD,
)
HUBERT = ModelSource(
    title="HuBERT: Self-Supervised Speech Representation Learning by Masked Prediction of Hidden Units",
    authors="Wei-Ning Hsu, Benjamin Bolte, Yao-Hung Hubert Tsai, Kushal Lakhotia, Ruslan Salakhutdinov, "
    "Abdelrahman Mohamed",
    venue="IEEE/ACM TASLP 29, 2021",
    url="https://arxiv.org/abs/2106.07447",
    licence=FAIRSEQ_WEIGHTS,
    note=SUPERB_HEAD,
)
WAVLM = ModelSource(
    title="WavLM: Large-Scale Self-Supervised Pre-Training for Full Stack Speech Processing",
    authors="Sanyuan Chen, Chengyi Wang, Zhengyang Chen, Yu Wu, Shujie Liu, Zhuo Chen, Jinyu Li, et al.",
    venue="IEEE JSTSP 16(6), 2022",
    url="https://arxiv.org/abs/2110.13900",
    licence="code BSD-2-Clause (torchaudio); weights MIT (authors' microsoft/unilm release, via torchaudio)",
    note=SUPERB_HEAD,
)
WHISPER = ModelSource(
    title="Robust Speech Recognition via Large-Scale Weak Supervision (Whisper)",
    authors="Alec Radford, Jong Wook Kim, Tao Xu, Greg Brockman, Christine McLeavey, Ilya Sutskever",
    venue="ICML 2023",
    url="https://arxiv.org/abs/2212.04356",
    licence="code Apache-2.0 (transformers); weights MIT (github.com/openai/whisper; HF cards: Apache-2.0)",
    note=f"the encoder only, on 30 s padded windows; {SUPERB_HEAD}",
)

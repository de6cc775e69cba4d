"""Log-mel features in numpy only, shared by training (train.py) and inference (run.py), so
that both see exactly the same numbers.

    features = log_mel(read_wav(path))   # float32 [MELS, frames], 100 frames per second
"""
from __future__ import annotations

import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
FRAME = 400  # 25 ms
HOP = 160  # 10 ms
FFT = 512
MELS = 40


def read_wav(path: Path) -> np.ndarray:
    """A 16 kHz mono 16-bit WAV file as float32 samples in [-1, 1)."""
    with wave.open(str(path), "rb") as file:
        if (file.getframerate(), file.getnchannels(), file.getsampwidth()) != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit PCM")
        samples = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
    return samples.astype(np.float32) / 32768.0


def write_wav(path: Path, samples: np.ndarray) -> None:
    """float samples in [-1, 1] as a 16 kHz mono 16-bit WAV file."""
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")  # read_wav's inverse
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(SAMPLE_RATE)
        file.writeframes(pcm.tobytes())


def _hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


@lru_cache(maxsize=None)
def mel_filters(mels: int = MELS, low_hz: float = 20.0, high_hz: float = SAMPLE_RATE / 2) -> np.ndarray:
    """[mels, FFT/2 + 1] triangular filters, evenly spaced on the mel scale (HTK formula)."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(low_hz), _hz_to_mel(high_hz), mels + 2))
    bins = np.linspace(0.0, SAMPLE_RATE / 2, FFT // 2 + 1)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def log_mel(samples: np.ndarray) -> np.ndarray:
    """float32 [MELS, frames] log-mel energies, each mel band normalized to zero mean and unit
    variance over the utterance (so loudness and channel colour do not matter)."""
    emphasized = np.append(samples[:1], samples[1:] - 0.97 * samples[:-1])  # lift the high bands
    padded = np.pad(emphasized, (0, max(0, FRAME - len(emphasized))))
    count = 1 + (len(padded) - FRAME) // HOP
    index = np.arange(FRAME)[None, :] + HOP * np.arange(count)[:, None]
    frames = padded[index] * np.hanning(FRAME)
    power = np.abs(np.fft.rfft(frames, n=FFT)) ** 2 / FFT
    energies = np.log(power @ mel_filters().T + 1e-6)  # [frames, MELS]
    normalized = (energies - energies.mean(axis=0)) / (energies.std(axis=0) + 1e-5)
    return normalized.T.astype(np.float32)

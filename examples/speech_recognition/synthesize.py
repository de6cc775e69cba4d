"""Synthesizes spoken digit sequences with espeak-ng (needs `apt-get install espeak-ng`; only
for retraining: run.py reads the committed WAV files).

    python examples/speech_recognition/synthesize.py [--train 3200] [--heldout 350]

Writes build/train.npz and build/heldout.npz (log-mel features and transcripts, for train.py)
and commits 5 held-out utterances per length 1-7 as utterances/*.wav + utterances.json.

Held-out utterances differ from the training ones in three ways, so that the WER measures
generalization, not memory: their word sequences never occur in training (a fixed tenth of all
sequences, chosen by a hash), their voice+variant pairs never occur in training (every voice and
every variant does, but not paired so), and their speeds fall between the training speeds.
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import wave
import zlib
from pathlib import Path

import numpy as np

from features import SAMPLE_RATE, log_mel, write_wav
from text import WORDS

HERE = Path(__file__).resolve().parent
BUILD = HERE / "build"
UTTERANCES = HERE / "utterances"

VOICES = ["en", "en-us", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc"]
VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5"]
TRAIN_SPEEDS = list(range(120, 221, 10))  # words per minute
HELDOUT_SPEEDS = list(range(125, 216, 10))  # between the training speeds
LENGTHS = range(1, 8)
COMMITTED_PER_LENGTH = 5


def held_out(key: str, share: int) -> bool:
    """A fixed 1/share of all keys, stable across runs and Python versions (unlike hash())."""
    return zlib.crc32(key.encode()) % share == 0


def voice_name(voice: str, variant: str) -> str:
    return f"{voice}+{variant}" if variant else voice


def speak(text: str, voice: str, speed: int, pitch: int, gap: int) -> np.ndarray:
    """espeak-ng's 22.05 kHz speech resampled to 16 kHz and rounded to 16 bits, as the committed
    files hold it, so that training features match what run.py computes from them."""
    command = ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-g", str(gap), "--stdout", text]
    with wave.open(io.BytesIO(subprocess.run(command, capture_output=True, check=True).stdout)) as file:
        rate = file.getframerate()
        # --stdout cannot seek back to fill in the length: the header says "huge", so read to the end.
        samples = np.frombuffer(file.readframes(1 << 30), dtype="<i2").astype(np.float64) / 32768.0
    return np.round(resample(samples, rate, SAMPLE_RATE) * 32768.0).clip(-32768, 32767) / 32768.0


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Band-limited resampling through the spectrum: drop the bins above the new Nyquist
    frequency (an ideal low-pass) and transform back at the new length."""
    count = round(len(samples) * target / rate)
    spectrum = np.fft.rfft(samples)[: count // 2 + 1]
    return np.fft.irfft(spectrum, n=count) * (count / len(samples))


def utterances(count: int, heldout: bool, rng: np.random.Generator):
    """`count` random utterances (dicts), lengths 1-7 in turn, from the held-out or the
    training side of every split above."""
    speeds = HELDOUT_SPEEDS if heldout else TRAIN_SPEEDS
    for index in range(count):
        length = LENGTHS[index % len(LENGTHS)]
        while True:
            transcript = " ".join(rng.choice(WORDS, size=length))
            if held_out(transcript, 10) == heldout:
                break
        while True:
            voice, variant = rng.choice(VOICES), rng.choice(VARIANTS)
            if held_out(voice_name(voice, variant), 6) == heldout:
                break
        yield dict(transcript=transcript, voice=voice_name(voice, variant), speed=int(rng.choice(speeds)),
                   pitch=int(rng.integers(25, 76)), gap=int(rng.integers(0, 5)))


def synthesize(count: int, heldout: bool, seed: int, path: Path) -> list[tuple[dict, np.ndarray]]:
    """Speaks `count` utterances, saves their features to `path`, returns (description, samples)."""
    spoken = []
    for number, description in enumerate(utterances(count, heldout, np.random.default_rng(seed))):
        spoken.append((description, speak(description["transcript"], description["voice"], description["speed"],
                                           description["pitch"], description["gap"])))
        if number % 500 == 499:
            print(f"  {path.stem}: {number + 1}/{count}", flush=True)
    features = [log_mel(samples.astype(np.float32)) for _, samples in spoken]
    np.savez(path, features=np.concatenate(features, axis=1), frames=[f.shape[1] for f in features],
             transcripts=[d["transcript"] for d, _ in spoken])
    return spoken


def commit(spoken: list[tuple[dict, np.ndarray]]) -> None:
    """The first COMMITTED_PER_LENGTH held-out utterances of each length, as 16 kHz WAV files
    and a JSON list of their file names, transcripts and how they were spoken."""
    UTTERANCES.mkdir(exist_ok=True)
    chosen, listing = {}, []
    for description, samples in spoken:
        length = len(description["transcript"].split())
        if chosen.setdefault(length, 0) < COMMITTED_PER_LENGTH:
            chosen[length] += 1
            name = f"{len(listing):02d}_{description['transcript'].replace(' ', '_')}.wav"
            write_wav(UTTERANCES / name, samples)
            listing.append(dict(file=name, **description))
    (HERE / "utterances.json").write_text(json.dumps(listing, indent=1) + "\n")
    size = sum((UTTERANCES / entry["file"]).stat().st_size for entry in listing)
    print(f"committed {len(listing)} utterances ({size / 1e6:.2f} MB) to {UTTERANCES.relative_to(HERE.parent.parent)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=3200)
    parser.add_argument("--heldout", type=int, default=350)
    args = parser.parse_args()
    BUILD.mkdir(exist_ok=True)
    for stale in UTTERANCES.glob("*.wav"):
        stale.unlink()
    commit(synthesize(args.heldout, True, seed=1, path=BUILD / "heldout.npz"))
    synthesize(args.train, False, seed=0, path=BUILD / "train.npz")
    print(f"wrote {BUILD / 'train.npz'} and {BUILD / 'heldout.npz'}")


if __name__ == "__main__":
    main()

"""transformers' image classification as its documentation teaches it, on the copy's default config; prints JSON.

Run with the python of the "vision" compat environment (`tests/helpers/compat_envs.py`): it
imports nothing of the project. HF_ENDPOINT names the Hub; the working directory holds
`accuracy/accuracy.py`, the module `evaluate.load("accuracy")` then finds without the Hub.

    python client_transformers.py SPEC_JSON

SPEC_JSON: {"repo", "work": a scratch directory, "steps", "batch_size", "eval_rows"}. The
steps of the documentation: label maps from the `ClassLabel`; an `AutoImageProcessor`
(made here from a config: no weights or processor can be downloaded) whose mean, std and
size feed torchvision transforms applied with `with_transform` (`map` when streaming);
a small ViT made from a config with the label maps; `DefaultDataCollator`,
`remove_unused_columns=False`, the `Trainer` and `evaluate.load("accuracy")`. It trains
`steps` steps on the downloaded train split, then on the streamed one, and reports each
model's accuracy on the first `eval_rows` test examples, and what reached the model's config.
"""

from __future__ import annotations

import json
import pathlib
import sys

import datasets
import evaluate
import numpy as np
import torch
import torchvision
import transformers
from torchvision.transforms import Compose, Normalize, RandomResizedCrop, ToTensor
from transformers import (
    AutoImageProcessor,
    AutoModelForImageClassification,
    DefaultDataCollator,
    Trainer,
    TrainingArguments,
    ViTConfig,
    ViTImageProcessor,
)


def label_maps(features: datasets.Features) -> tuple[dict[str, int], dict[int, str]]:
    names = features["label"].names
    return {name: index for index, name in enumerate(names)}, dict(enumerate(names))


def local_image_processor(work: pathlib.Path) -> transformers.BaseImageProcessor:
    """What `AutoImageProcessor.from_pretrained(checkpoint)` gives, from a folder written here (one channel, 28x28)."""
    folder = work / "image-processor"
    ViTImageProcessor(size={"height": 28, "width": 28}, image_mean=[0.5], image_std=[0.5]).save_pretrained(folder)
    return AutoImageProcessor.from_pretrained(folder)


def transforms_of(image_processor: transformers.BaseImageProcessor) -> tuple:
    """The documentation's train transforms (torchvision, from the processor's settings) and the processor itself."""
    size = (image_processor.size["height"], image_processor.size["width"])
    augment = Compose(
        [
            RandomResizedCrop(size, scale=(0.8, 1.0)),
            ToTensor(),
            Normalize(mean=image_processor.image_mean, std=image_processor.image_std),
        ]
    )

    def train_transform(batch: dict) -> dict:
        batch["pixel_values"] = [augment(image.convert("L")) for image in batch.pop("image")]
        return batch

    def eval_transform(batch: dict) -> dict:
        images = [np.asarray(image.convert("L"))[None] for image in batch.pop("image")]  # (1, 28, 28) each
        processed = image_processor(images, input_data_format="channels_first", return_tensors="pt")
        batch["pixel_values"] = list(processed["pixel_values"])
        return batch

    return train_transform, eval_transform


def small_vit(label2id: dict[str, int], id2label: dict[int, str]) -> torch.nn.Module:
    config = ViTConfig(
        image_size=28, patch_size=4, num_channels=1, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, num_labels=len(id2label), id2label=id2label, label2id=label2id,
    )  # fmt: skip
    return AutoModelForImageClassification.from_config(config)


def train_and_evaluate(spec: dict, name: str, train, test, features, image_processor) -> dict:
    label2id, id2label = label_maps(features)
    model = small_vit(label2id, id2label)
    accuracy = evaluate.load("accuracy")

    def compute_metrics(prediction: transformers.EvalPrediction) -> dict:
        return accuracy.compute(predictions=np.argmax(prediction.predictions, axis=1), references=prediction.label_ids)

    arguments = TrainingArguments(
        output_dir=str(pathlib.Path(spec["work"]) / name), remove_unused_columns=False, max_steps=spec["steps"],
        per_device_train_batch_size=spec["batch_size"], per_device_eval_batch_size=256, learning_rate=2e-3,
        warmup_steps=10, use_cpu=True, dataloader_pin_memory=False, report_to="none", save_strategy="no",
        logging_strategy="no", disable_tqdm=True, seed=0,
    )  # fmt: skip
    trainer = Trainer(
        model=model, args=arguments, data_collator=DefaultDataCollator(), train_dataset=train, eval_dataset=test,
        processing_class=image_processor, compute_metrics=compute_metrics,
    )  # fmt: skip
    trainer.train()
    metrics = trainer.evaluate()
    return {
        "accuracy": metrics["eval_accuracy"],
        "id2label": {str(key): value for key, value in model.config.id2label.items()},
        "label2id": dict(model.config.label2id),
        "steps": trainer.state.global_step,
    }


def main() -> int:
    spec = json.loads(sys.argv[1])
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    image_processor = local_image_processor(pathlib.Path(spec["work"]))
    train_transform, eval_transform = transforms_of(image_processor)
    report = {"versions": {package.__name__: package.__version__ for package in (transformers, torch, torchvision)}}
    report["versions"] |= {"evaluate": evaluate.__version__, "datasets": datasets.__version__}
    report["processor"] = type(image_processor).__name__

    loaded = datasets.load_dataset(spec["repo"])
    train = loaded["train"].with_transform(train_transform)
    test = loaded["test"].select(range(spec["eval_rows"])).with_transform(eval_transform)
    report["downloaded"] = train_and_evaluate(
        spec, "downloaded", train, test, loaded["train"].features, image_processor
    )

    streamed = datasets.load_dataset(spec["repo"], streaming=True)
    features = streamed["train"].features
    # A stream has no with_transform; its map keeps the input columns unless told to drop them.
    train = (
        streamed["train"]
        .shuffle(seed=0, buffer_size=1_000)
        .map(train_transform, batched=True, remove_columns=["image"])
    )
    test = streamed["test"].take(spec["eval_rows"]).map(eval_transform, batched=True, remove_columns=["image"])
    report["streamed"] = train_and_evaluate(spec, "streamed", train, test, features, image_processor)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

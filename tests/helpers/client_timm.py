"""timm's `hfds/` and `hfids/` datasets on the copy, through `create_loader` into a one-channel timm model; prints JSON.

Run with the python of the "vision" compat environment (`tests/helpers/compat_envs.py`): it
imports nothing of the project. HF_ENDPOINT names the Hub.

    python client_timm.py SPEC_JSON

SPEC_JSON: {"repo", "work", "steps", "batch_size", "eval_rows", "first": how many leading labels to report}.
`create_dataset("hfds/REPO", split=..., input_img_mode="L")` reads the default config with
`datasets.load_dataset`; `"hfids/REPO"` streams it, its length taken from the split info. For
each the report holds the length, the first labels and the image mode as the dataset gives them
(before any transform), then the accuracy on the first `eval_rows` test examples of a model
trained `steps` steps on it from timm's training loader (its own augmentation, one channel).
"""

from __future__ import annotations

import itertools
import json
import sys

import datasets
import timm
import timm.data
import timm.optim
import torch

MEAN, STD = (0.5,), (0.5,)
INPUT_SIZE = (1, 28, 28)


def first_items(dataset: torch.utils.data.Dataset, count: int) -> list:
    """(mode, size, label) of the first `count` items, as the dataset gives them before any transform."""
    if isinstance(dataset, torch.utils.data.IterableDataset):
        source = iter(dataset)
    else:
        source = (dataset[index] for index in range(count))
    return [(image.mode, list(image.size), int(label)) for image, label in itertools.islice(source, count)]


def train(loader: torch.utils.data.DataLoader, steps: int) -> torch.nn.Module:
    """A user's loop (timm's train.py is not in the wheel): a small timm model, one input channel, ten classes."""
    torch.manual_seed(0)
    model = timm.create_model("resnet10t", pretrained=False, in_chans=INPUT_SIZE[0], num_classes=10)
    optimizer = timm.optim.create_optimizer_v2(model, "adamw", lr=2e-3)
    loss_of = torch.nn.CrossEntropyLoss()
    model.train()
    done = 0
    while done < steps:
        for images, labels in loader:
            optimizer.zero_grad()
            loss_of(model(images), labels).backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    return model


@torch.no_grad()
def accuracy(model: torch.nn.Module, loader: torch.utils.data.DataLoader, rows: int) -> float:
    model.eval()
    right = seen = 0
    for images, labels in loader:
        right += int((model(images).argmax(1) == labels).sum())
        seen += len(labels)
        if seen >= rows:
            break
    return right / seen


def loader_of(dataset: torch.utils.data.Dataset, spec: dict, training: bool) -> torch.utils.data.DataLoader:
    return timm.data.create_loader(
        dataset, input_size=INPUT_SIZE, batch_size=spec["batch_size"], is_training=training, use_prefetcher=False,
        mean=MEAN, std=STD, scale=(0.8, 1.0), crop_pct=1.0, num_workers=0,
    )  # fmt: skip


def main() -> int:
    spec = json.loads(sys.argv[1])
    datasets.disable_progress_bars()
    report = {"versions": {"timm": timm.__version__, "torch": torch.__version__, "datasets": datasets.__version__}}
    test = timm.data.create_dataset(f"hfds/{spec['repo']}", root=None, split="test", input_img_mode="L")
    test_loader = loader_of(test, spec, training=False)
    for prefix in ("hfds", "hfids"):
        name = f"{prefix}/{spec['repo']}"
        in_order = timm.data.create_dataset(name, root=None, split="train", input_img_mode="L")
        items = first_items(in_order, spec["first"])
        training = timm.data.create_dataset(
            name, root=None, split="train", input_img_mode="L", is_training=True, batch_size=spec["batch_size"]
        )  # hfids shuffles its stream when training; hfds is shuffled by the loader
        model = train(loader_of(training, spec, training=True), spec["steps"])
        report[prefix] = {
            "length": len(in_order),
            "training_length": len(training),
            "modes": sorted({mode for mode, _, _ in items}),
            "sizes": sorted({tuple(size) for _, size, _ in items}),
            "labels": [label for _, _, label in items],
            "accuracy": accuracy(model, test_loader, spec["eval_rows"]),
        }
    report["test_length"] = len(test)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

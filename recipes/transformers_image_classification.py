from datasets import load_dataset
from torchvision.transforms import Compose, Normalize, RandomResizedCrop, ToTensor
from transformers import DefaultDataCollator, ViTImageProcessor

splits = load_dataset("org/fashion_mnist")
names = splits["train"].features["label"].names
id2label, label2id = dict(enumerate(names)), {name: i for i, name in enumerate(names)}  # for the model's config
processor = ViTImageProcessor(size={"height": 28, "width": 28}, image_mean=[0.5], image_std=[0.5])
normalize = Normalize(processor.image_mean, processor.image_std)
augment = Compose([RandomResizedCrop(28, scale=(0.8, 1)), ToTensor(), normalize])


def transform(batch):
    batch["pixel_values"] = [augment(image) for image in batch.pop("image")]
    return batch


train = splits["train"].with_transform(transform)
batch = DefaultDataCollator()([train[i] for i in range(8)])  # pixel_values (8, 1, 28, 28), labels (8,)

import timm
from timm.data import create_dataset, create_loader

train = create_dataset("hfds/org/fashion_mnist", root=None, split="train", input_img_mode="L")
loader = create_loader(
    train, input_size=(1, 28, 28), batch_size=256, is_training=True, use_prefetcher=False,
    mean=(0.5,), std=(0.5,), scale=(0.8, 1.0),
)  # fmt: skip
model = timm.create_model("resnet10t", num_classes=10, in_chans=1)

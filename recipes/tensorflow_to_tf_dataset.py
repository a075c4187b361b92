from datasets import load_dataset

splits = load_dataset("org/fashion_mnist")
train = splits["train"].to_tf_dataset(columns="image", label_cols="label", batch_size=256, shuffle=True)
test = splits["test"].to_tf_dataset(columns="image", label_cols="label", batch_size=256)  # (256, 28, 28), (256,)

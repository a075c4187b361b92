import jax
import jax.numpy as jnp
import numpy as np
from datasets import load_dataset


def to_device(split):  # a split of the pixels config -> uint8 images (n, 28, 28) and labels on the device
    rows = split.with_format("numpy", dtype=np.uint8)[:]
    return jax.device_put(rows["pixels"].reshape(-1, 28, 28)), jax.device_put(rows["label"])


def loss_fn(params, x, y):
    weights, bias = params
    logits = x.reshape(len(x), -1).astype(jnp.float32) / 255 @ weights + bias
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None].astype(jnp.int32), axis=1))


@jax.jit
def train_step(params, images, labels, indices):  # the arrays as arguments: captured ones would be compiled in
    loss, grads = jax.value_and_grad(loss_fn)(params, images[indices], labels[indices])
    return jax.tree.map(lambda p, g: p - 0.5 * g, params, grads), loss


if __name__ == "__main__":
    images, labels = to_device(load_dataset("org/fashion_mnist", "pixels", split="train"))  # 47 MB, uint8
    params = (jnp.zeros((784, 10)), jnp.zeros(10))
    key = jax.random.key(0)
    for epoch in range(2):
        key, shuffle_key = jax.random.split(key)
        order = jax.random.permutation(shuffle_key, len(labels))
        for batch in order[: len(order) // 256 * 256].reshape(-1, 256):
            params, loss = train_step(params, images, labels, batch)

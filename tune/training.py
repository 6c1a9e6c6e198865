"""The training loop, with no Ray in it: train on the train split, validate on the val split,
one epoch at a time. The trial (tune/trainable.py) and promotion's retraining both use it."""
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from data_utils.prepare import load_tensors
from data_utils.transforms import add_rotated_copies, random_rotation, to_float
from models import INPUTS, build_model

CHECKPOINT_FILE = "checkpoint.pt"  # what a trial's checkpoint folder holds: the state train_epochs yields


def train_epochs(config: dict, settings: dict, state: dict | None = None):
    """Train on the train split, validate on the val split; yield (metrics, state) after each
    epoch, where state (model, optimiser, random generator, epoch) is enough to continue."""
    seed = settings["seed"]
    torch.manual_seed(seed)
    normalization = INPUTS[settings["model"]][1]
    generator = torch.Generator().manual_seed(seed)

    train_x, train_y = load_tensors(settings["tensors_file"], "train")
    val_x, val_y = load_tensors(settings["tensors_file"], "val")
    if config.get("offline_rotations"):
        train_x, train_y = add_rotated_copies(train_x, train_y, generator)

    model = build_model(settings["model"], config, settings["image_size"], settings.get("weights_file"))
    weight_decay = config.get("weight_decay", 0.0) if config.get("use_weight_decay", True) else 0.0
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], weight_decay=weight_decay)
    loss_fn = nn.BCEWithLogitsLoss()
    start_epoch = 0
    if state:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        start_epoch = state["epoch"]

    batch_size = config["batch_size"]
    for epoch in range(start_epoch, settings["max_epochs"]):
        model.train()
        total_loss, correct = 0.0, 0
        order = torch.randperm(len(train_x), generator=generator)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            images = random_rotation(train_x[index], config.get("rotation", 0.0), generator)
            labels = train_y[index]
            logits = model(to_float(images, normalization))
            loss = loss_fn(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(index)
            correct += ((logits > 0).float() == labels).sum().item()

        val = evaluate(model, val_x, val_y, normalization)
        metrics = {"epoch": epoch + 1,
                   "train_loss": total_loss / len(train_x), "train_acc": correct / len(train_x),
                   "val_loss": val["loss"], "val_acc": val["accuracy"], "val_auc": val["auc"]}
        yield metrics, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "generator": generator.get_state(), "epoch": epoch + 1}


@torch.no_grad()
def predict_logits(model: nn.Module, images: torch.Tensor, normalization: str, batch_size: int = 64) -> torch.Tensor:
    model.eval()
    return torch.cat([model(to_float(images[i:i + batch_size], normalization)).float()
                      for i in range(0, len(images), batch_size)])


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, normalization: str) -> dict:
    logits = predict_logits(model, images, normalization)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, labels).item()
    accuracy = ((logits > 0).float() == labels).float().mean().item()
    auc = roc_auc_score(labels.numpy(), logits.numpy()) if labels.unique().numel() == 2 else float("nan")
    return {"loss": loss, "accuracy": accuracy, "auc": float(auc)}

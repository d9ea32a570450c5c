"""The image models' parameter counts at their reference sizes, from the papers, torchvision and timm: what
tests/test_models.py pins every registered image model to."""

# name -> (input side, channels, classes, parameter count). The CNN families at 224x224x3 and
# 1,000 classes equal torchvision's weights; WRN-28-10 at 32x32 the paper's 36.5M.
PINNED = {
    "lenet5": (32, 1, 10, 61_706),             # LeCun et al. 1998: 156 + 2,416 + 48,120 + 10,164 + 850
    "lenet_modern": (28, 1, 10, 1_256_080),    # the notes' table: 520 + 25,050 + 1,225,500 + 5,010
    "linear": (8, 1, 10, 650),                 # 64 x 10 + 10
    "mlp": (8, 1, 10, 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10),
    "alexnet": (224, 3, 1000, 61_100_840),
    "vgg11": (224, 3, 1000, 132_863_336),
    "vgg13": (224, 3, 1000, 133_047_848),
    "vgg16": (224, 3, 1000, 138_357_544),
    "vgg19": (224, 3, 1000, 143_667_240),
    "vgg11_bn": (224, 3, 1000, 132_868_840),
    "vgg13_bn": (224, 3, 1000, 133_053_736),
    "vgg16_bn": (224, 3, 1000, 138_365_992),
    "vgg19_bn": (224, 3, 1000, 143_678_248),
    "resnet18": (224, 3, 1000, 11_689_512),
    "resnet34": (224, 3, 1000, 21_797_672),
    "resnet50": (224, 3, 1000, 25_557_032),
    "resnet101": (224, 3, 1000, 44_549_160),
    "resnet152": (224, 3, 1000, 60_192_808),
    "wide_resnet50_2": (224, 3, 1000, 68_883_240),
    "resnext50_32x4d": (224, 3, 1000, 25_028_904),
    "densenet121": (224, 3, 1000, 7_978_856),
    "googlenet": (224, 3, 1000, 13_004_888),   # with the auxiliary heads; 6,624,904 without (below)
    "wrn28_10": (32, 3, 10, 36_479_194),
    "fractalnet": (32, 3, 10, None),           # no reference count; the conv count is checked below
    "speedrun": (32, 3, 10, 1_972_504),        # airbench94's widths 64-256-256 (its net: ~1.97M)
    # timm's vit_*_patch*_224, deit_*_distilled_patch16_224 and swin_*_patch4_window7_224
    "vit": (224, 3, 1000, 86_567_656),         # ViT-B/16 by default
    "vit_ti16": (224, 3, 1000, 5_717_416),
    "vit_ti32": (224, 3, 1000, 6_131_560),
    "vit_s16": (224, 3, 1000, 22_050_664),
    "vit_s32": (224, 3, 1000, 22_878_952),
    "vit_b16": (224, 3, 1000, 86_567_656),
    "vit_b32": (224, 3, 1000, 88_224_232),
    "vit_l16": (224, 3, 1000, 304_326_632),
    "vit_l32": (224, 3, 1000, 306_535_400),
    "deit_ti": (224, 3, 1000, 5_910_800),
    "deit_s": (224, 3, 1000, 22_436_432),
    "deit_b": (224, 3, 1000, 87_338_192),
    "swin": (224, 3, 1000, 28_288_354),        # Swin-T by default
    "swin_t": (224, 3, 1000, 28_288_354),
    "swin_s": (224, 3, 1000, 49_606_258),
    "swin_b": (224, 3, 1000, 87_768_224),
}

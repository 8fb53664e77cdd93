"""Writes real TorchScript CLIP text models (torch.jit.save) for weights-torchscript-real.e2e.test.ts.

Usage: python3 torchscript_clip.py <clip_text.pth> <out_dir>

The module mirrors the layout of OpenAI's CLIP (clip/model.py): a stub vision tower, int buffers,
the causal mask as a plain tensor attribute of each block. It is saved scripted (float32 and
float16, as OpenAI ships its jit files) and traced, with expected.json holding what torch's own
state_dict() returns for each: keys in order, shapes, dtypes and float64 sums.
"""
import copy
import json
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

state = torch.load(sys.argv[1], map_location='cpu')
out_dir = sys.argv[2]
width = state['ln_final.weight'].shape[0]
context = state['positional_embedding'].shape[0]
vocab = state['token_embedding.weight'].shape[0]
layers = len({k.split('.')[2] for k in state if k.startswith('transformer.resblocks.')})
heads = max(1, width // 64) if width >= 64 and width % 64 == 0 else 1


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, mask):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([('c_fc', nn.Linear(width, 4 * width)), ('gelu', QuickGELU()), ('c_proj', nn.Linear(4 * width, width))]))
        self.ln_2 = nn.LayerNorm(width)
        self.attn_mask = mask

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        mask = torch.full((context, context), float('-inf')).triu_(1)
        self.resblocks = nn.Sequential(*[Block(mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class Visual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 4, 4, bias=False)
        self.proj = nn.Parameter(torch.randn(8, width))

    def forward(self, x):
        return self.conv1(x)


class CLIP(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = Visual()
        self.transformer = Transformer()
        self.token_embedding = nn.Embedding(vocab, width)
        self.positional_embedding = nn.Parameter(torch.empty(context, width))
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(state['text_projection'].shape))
        self.logit_scale = nn.Parameter(torch.ones([]) * 4.6)
        self.register_buffer('input_resolution', torch.tensor(224))
        self.register_buffer('context_length', torch.tensor(context))
        self.register_buffer('vocab_size', torch.tensor(vocab))

    def forward(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_final(x)


torch.manual_seed(0)
model = CLIP()
model.load_state_dict(state, strict=False)
model.eval()
files = {
    'scripted.pt': torch.jit.script(model),
    # A copy: a scripted module shares its parameters with the original, and half() works in place.
    'scripted-half.pt': torch.jit.script(copy.deepcopy(model)).half(),
    'traced.pt': torch.jit.trace(model, torch.zeros(1, context, dtype=torch.long)),
}
expected = {}
for name, module in files.items():
    torch.jit.save(module, f'{out_dir}/{name}')
    expected[name] = [
        {'key': k, 'shape': list(v.shape), 'dtype': str(v.dtype).replace('torch.', ''), 'sum': float(v.double().sum())}
        for k, v in torch.jit.load(f'{out_dir}/{name}').state_dict().items()
    ]
with open(f'{out_dir}/expected.json', 'w') as f:
    json.dump(expected, f)

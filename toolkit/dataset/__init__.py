"""The Hugging Face dataset: quotes + adjudicated labels -> a dataset folder -> the Hub.

build assembles rows, splits by article and writes the folder (parquet + README.md card);
card renders the card from the same `datasets.Features`; publish uploads the folder.
folder holds the folder's fixed shape (split names, file names) that build and card share.
"""

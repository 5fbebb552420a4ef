"""Spiders: one module per site that needs code, plus the configurable spiders.

Which sources exist, and their agency, country, language and URLs, is declared in
`sources.toml`; `spiders/registry.py` turns each entry into the spider class Scrapy lists.
"""

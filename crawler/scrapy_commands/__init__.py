"""Scrapy commands of the project (`COMMANDS_MODULE`): Scrapy's own, made safe for stnews."""

"""The spider of every source in the sources file, where Scrapy's spider loader looks.

Scrapy lists the spider classes defined in the modules of SPIDER_MODULES; the registry
builds one class per enabled source (``crawler.source_registry``) and they are published
here. A malformed sources file fails this import with a message naming the source and field.
"""

from crawler.source_registry import spider_classes

globals().update({cls.__name__: cls for cls in spider_classes().values()})

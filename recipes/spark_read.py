from pyspark.sql import SparkSession

spark = SparkSession.builder.master("local[2]").getOrCreate()
test = spark.read.format("huggingface").option("split", "test").load("org/fashion_mnist")
counts = test.groupBy("label").count().collect()  # 1,000 per label

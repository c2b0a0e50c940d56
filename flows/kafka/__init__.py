"""Kafka, in one package: client settings, the source, the dead-letter sink, the producer.

    config    librdkafka client configuration from the settings, partition discovery
    source    KafkaSource: a topic per inbound source, offsets kept in Bytewax recovery
    sink      KafkaDeadLetterSink: dead letters also published to a topic
    producer  ``voc produce``: JSONL files, stdin or the simulator to the topics

Every module imports confluent-kafka lazily (the ``kafka`` extra), so importing this
package needs nothing installed.
"""

"""The blended intent classifier, trained, stored and loaded the way Rasa does it (no model server)."""
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlp.intent_blend import BlendedIntentClassifier
from bot.nlp.tokenizer import BilingualTokenizer

EXAMPLES = {
    "ask_balance": ["what's my balance", "how much do I owe", "outstanding balance please", "what do we owe you",
                    "我还欠多少钱", "余额是多少", "账户余额查一下"],
    "ask_due_date": ["when is my invoice due", "due date of the bill", "by when do I have to pay",
                     "what's the deadline for payment", "账单什么时候到期", "最晚哪天付款", "付款截止日期"],
    "greet": ["hello", "hi there", "good morning", "hey", "你好", "早上好", "嗨"],
}
TOKENIZER = BilingualTokenizer(BilingualTokenizer.get_default_config())


def tokenized(text: str) -> Message:
    message = Message(data={"text": text})
    TOKENIZER.process([message])
    return message


def training_data() -> TrainingData:
    messages = [Message(data={"text": text, "intent": intent}) for intent, texts in EXAMPLES.items() for text in texts]
    data = TrainingData(training_examples=messages)
    TOKENIZER.process_training_data(data)
    return data


@pytest.fixture
def storage(tmp_path):
    return LocalModelStorage(tmp_path)


def context():
    return ExecutionContext(GraphSchema({}), "test")


def trained(storage, **config):
    resource = Resource("blend")
    component = BlendedIntentClassifier.create({**BlendedIntentClassifier.get_default_config(), **config},
                                               storage, resource, context())
    component.train(training_data())
    return component, resource


@pytest.mark.parametrize("text, intent", [
    ("how much money do I still owe?", "ask_balance"),
    ("when's the payment due", "ask_due_date"),
    ("hello again", "greet"),
    ("这张账单哪天到期", "ask_due_date"),
    ("现在欠你们多少", "ask_balance"),
])
def test_it_learns_unseen_phrasings_in_both_languages(storage, text, intent):
    component, _ = trained(storage)
    [message] = component.process([tokenized(text)])
    assert message.get("intent")["name"] == intent
    assert [entry["name"] for entry in message.get("intent_ranking")][0] == intent
    assert sum(entry["confidence"] for entry in message.get("intent_ranking")) == pytest.approx(1.0)


def test_a_stored_model_loads_with_the_same_probabilities(storage):
    component, resource = trained(storage)
    loaded = BlendedIntentClassifier.load(BlendedIntentClassifier.get_default_config(), storage, resource, context())
    for text in ("when is it due", "余额", "hey hey"):
        assert loaded.process([tokenized(text)])[0].get("intent_ranking") == \
            component.process([tokenized(text)])[0].get("intent_ranking")


def test_the_previous_classifiers_ranking_is_blended_by_weight(storage):
    component, _ = trained(storage, weight=0.7)
    alone, _ = trained(storage, weight=1.0)
    text = "what's the balance and when is it due"
    linear = {e["name"]: e["confidence"] for e in alone.process([tokenized(text)])[0].get("intent_ranking")}

    message = tokenized(text)
    # What DIET put on the message before this component runs: all on greet.
    message.set("intent", {"name": "greet", "confidence": 1.0})
    message.set("intent_ranking", [{"name": "greet", "confidence": 1.0}])
    blended = {e["name"]: e["confidence"] for e in component.process([message])[0].get("intent_ranking")}

    assert blended["greet"] == pytest.approx(0.7 * linear["greet"] + 0.3)
    assert blended["ask_balance"] == pytest.approx(0.7 * linear["ask_balance"])
    assert message.get("intent")["name"] == max(blended, key=blended.get)


def test_weight_zero_keeps_the_previous_ranking(storage):
    component, _ = trained(storage, weight=0.0)
    message = tokenized("when is my invoice due")
    message.set("intent_ranking", [{"name": "greet", "confidence": 0.6}, {"name": "ask_due_date", "confidence": 0.4}])
    assert component.process([message])[0].get("intent")["name"] == "greet"


def test_a_message_of_nothing_it_has_seen_is_no_evidence(storage):
    component, _ = trained(storage, weight=0.7)
    message = tokenized("ыщшх жэю")
    message.set("intent_ranking", [{"name": "greet", "confidence": 0.9}, {"name": "ask_balance", "confidence": 0.1}])
    ranking = component.process([message])[0].get("intent_ranking")
    assert ranking[0] == {"name": "greet", "confidence": pytest.approx(0.3 * 0.9)}
    assert all(0 < entry["confidence"] <= 0.3 for entry in ranking)


def test_with_no_evidence_from_either_the_message_stays_as_it_was(storage):
    component, _ = trained(storage)
    message = tokenized("ᚠᚢᚦ ᚨᚱᚲ")
    message.set("intent", {"name": None, "confidence": 0.0})
    component.process([message])
    assert message.get("intent") == {"name": None, "confidence": 0.0} and message.get("intent_ranking") is None


def test_an_empty_message_is_left_alone(storage):
    component, _ = trained(storage)
    message = tokenized("   ")
    component.process([message])
    assert message.get("intent") is None


def test_an_untrained_model_passes_the_previous_ranking_on(storage):
    resource = Resource("never-trained")
    loaded = BlendedIntentClassifier.load(BlendedIntentClassifier.get_default_config(), storage, resource, context())
    message = tokenized("hello")
    message.set("intent", {"name": "greet", "confidence": 0.9})
    loaded.process([message])
    assert message.get("intent") == {"name": "greet", "confidence": 0.9}

